package io.jdiffusion.runs;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The compare page served from the store on this machine only (the JDK's HTTP server, bound to
 * 127.0.0.1), so that the page can star and note runs ({@link RunStore#annotate}) while the user looks:
 *
 * <ul>
 *   <li>{@code GET /} — the page of the runs the filter selects, made afresh on each request;</li>
 *   <li>{@code GET /files/runs/<id>/<file>} — a run's run.json, outputs and inputs, read through the
 *       same checks as every store read ({@link StoreFiles}: inside the store, regular files, bounded);</li>
 *   <li>{@code POST /api/star?run=<id>} (body "1" or "0") and {@code POST /api/note?run=<id>} (body: the
 *       note) — answered with the run's {@link RunNotes} as JSON.</li>
 * </ul>
 *
 * <p>Why the API needs a token: any web page the user has open could send a POST to 127.0.0.1.
 * Each server draws a random token, writes it into the page it serves (which only a page from this
 * origin can read) and accepts a POST only with the token in the header {@code X-Jdiffusion-Token}
 * (a custom header, which a cross-origin page cannot send without a preflight this server never
 * grants). A request whose Host is not this server's loopback address is refused (DNS rebinding).
 */
public final class RunServer implements AutoCloseable {
    /** Where the served page links a run's files. */
    static final String FILES = "files/runs/";
    static final String TOKEN_HEADER = "X-Jdiffusion-Token";
    private static final int MAX_BODY = 64 << 10;

    private final RunStore store;
    private final RunFilter filter;
    private final HttpServer http;
    private final ExecutorService pool;
    private final String token;

    /** Starts serving the runs {@code filter} selects on 127.0.0.1:{@code port} (0: any free port). */
    public static RunServer start(RunStore store, RunFilter filter, int port) {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port: " + port + " is not a port (0 to 65535; 0 picks a free one)");
        filter.select(store.list().runs()); // an unknown --where key or experiment is an error now, not on the first request
        return new RunServer(store, filter, port);
    }

    private RunServer(RunStore store, RunFilter filter, int port) {
        this.store = store;
        this.filter = filter;
        byte[] t = new byte[24];
        new SecureRandom().nextBytes(t);
        token = HexFormat.of().formatHex(t);
        try {
            http = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 16);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve on 127.0.0.1:" + port + ": " + e.getMessage(), e);
        }
        pool = Executors.newFixedThreadPool(2, r -> {
            Thread th = new Thread(r, "jdiffusion-runs-serve");
            th.setDaemon(true);
            return th;
        });
        http.createContext("/", this::handle);
        http.setExecutor(pool);
        http.start();
    }

    /** The address of the page. */
    public URI uri() {
        return URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/");
    }

    /** The socket address the server listens on. */
    public InetSocketAddress address() { return http.getAddress(); }

    @Override
    public void close() {
        http.stop(0);
        pool.shutdownNow();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String host = ex.getRequestHeaders().getFirst("Host");
            int port = http.getAddress().getPort();
            if (host == null || !Set.of("127.0.0.1:" + port, "localhost:" + port).contains(host.toLowerCase(Locale.ROOT))) {
                send(ex, 403, "text/plain", "this server answers only to 127.0.0.1:" + port);
                return;
            }
            String path = ex.getRequestURI().getPath();
            String method = ex.getRequestMethod();
            if (path.startsWith("/api/")) {
                api(ex, path.substring(5), method);
            } else if (!method.equals("GET") && !method.equals("HEAD")) {
                send(ex, 405, "text/plain", "only GET here");
            } else if (path.equals("/") || path.equals("/index.html")) {
                send(ex, 200, "text/html; charset=utf-8", page());
            } else if (path.startsWith("/" + FILES)) {
                file(ex, path.substring(FILES.length() + 1));
            } else {
                send(ex, 404, "text/plain", "not found");
            }
        } catch (RuntimeException e) {
            // a request must never stop the server; the message names what failed
            send(ex, 500, "text/plain", "error: " + e.getMessage());
        }
    }

    private byte[] page() throws IOException {
        RunStore.Listing l = store.list();
        List<String> problems = new ArrayList<>(l.problems());
        List<RunRecord> runs = new ArrayList<>();
        for (RunStore.Entry e : filter.select(l.runs())) {
            try {
                runs.add(store.get(e.id()));
            } catch (RunStoreException x) {
                problems.add(x.getMessage());
            }
        }
        return CompareReport.html(store, runs, problems, PageFiles.served(store), token).getBytes(StandardCharsets.UTF_8);
    }

    private void file(HttpExchange ex, String rest) throws IOException {
        int slash = rest.indexOf('/');
        byte[] bytes;
        try {
            String id = RunStore.checkId(slash < 0 ? rest : rest.substring(0, slash));
            Path p = StoreFiles.resolve(store.runDir(id), slash < 0 ? "" : rest.substring(slash + 1), id);
            bytes = StoreFiles.read(store.dir(), p, StoreFiles.MAX_STORED_FILE_BYTES);
        } catch (IllegalArgumentException | RunStoreException | IOException e) {
            send(ex, 404, "text/plain", "not found");
            return;
        }
        String name = rest.toLowerCase(Locale.ROOT);
        String type = name.endsWith(".png") ? "image/png" : name.endsWith(".jpg") || name.endsWith(".jpeg") ? "image/jpeg"
                : name.endsWith(".json") ? "application/json" : "application/octet-stream";
        send(ex, 200, type, bytes);
    }

    private void api(HttpExchange ex, String what, String method) throws IOException {
        if (!method.equals("POST")) {
            send(ex, 405, "text/plain", "POST only");
            return;
        }
        String given = ex.getRequestHeaders().getFirst(TOKEN_HEADER);
        if (given == null || !MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
            send(ex, 403, "text/plain", "missing or wrong " + TOKEN_HEADER + " (use the page this server serves)");
            return;
        }
        String query = ex.getRequestURI().getQuery();
        String id = query != null && query.startsWith("run=") ? query.substring(4) : null;
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readNBytes(MAX_BODY + 1);
        }
        if (body.length > MAX_BODY) {
            send(ex, 413, "text/plain", "body larger than " + MAX_BODY + " bytes");
            return;
        }
        String text = new String(body, StandardCharsets.UTF_8);
        try {
            if (id == null) throw new IllegalArgumentException("run: name the run as ?run=ID");
            RunNotes n = switch (what) {
                case "star" -> store.annotate(id, switch (text.strip()) {
                    case "1" -> true;
                    case "0" -> false;
                    default -> throw new IllegalArgumentException("star: send 1 or 0, got '" + StoreFiles.show(text) + "'");
                }, null);
                case "note" -> store.annotate(id, null, text);
                default -> null;
            };
            if (n == null) send(ex, 404, "text/plain", "no such API: " + what + " (star, note)");
            else send(ex, 200, "application/json", RunStore.JSON.writeValueAsBytes(n));
        } catch (IllegalArgumentException | RunStoreException e) {
            send(ex, 400, "text/plain", e.getMessage());
        }
    }

    private static void send(HttpExchange ex, int status, String type, String text) throws IOException {
        send(ex, status, type + (type.contains("charset") ? "" : "; charset=utf-8"), text.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : body.length == 0 ? -1 : body.length);
        if (!head && body.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }
}
