package io.jdiffusion.runs;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `runs serve`: the page and the store's files on 127.0.0.1 only, stars and notes saved through the API
 * with the page's token, nothing outside the store served, foreign hosts and tokenless posts refused.
 */
class RunServerTest {
    private final HttpClient client = HttpClient.newHttpClient();

    @Test
    void servesThePageAndSavesStarsAndNotes(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(ModuleLayer.boot().findModule("jdk.httpserver").isPresent(),
                "this runtime has no jdk.httpserver module (a jlink'ed runtime without it): `runs serve` is not available here");
        Path dir = TinySweep.copy();
        RunStore store = RunStore.open(dir);
        List<String> ids = TinySweep.runs().stream().map(RunRecord::id).toList();
        String id = ids.get(3);
        Files.createSymbolicLink(store.runDir(id).resolve("outside.txt"), Path.of("/etc/hostname"));
        try (RunServer server = RunServer.start(store, new RunFilter(null, null, null), 0)) {
            assertEquals(InetAddress.getByName("127.0.0.1"), server.address().getAddress(), "bound to 127.0.0.1 only");
            URI base = server.uri();
            HttpResponse<String> page = get(base);
            assertEquals(200, page.statusCode());
            for (String i : ids) assertTrue(page.body().contains(i), i);
            JsonNode data = data(page.body());
            assertTrue(data.get("serve").asBoolean());
            String token = data.get("token").asText();
            assertEquals(48, token.length());
            // the links the page gives lead to the stored files
            String out = data.get("runs").get(3).get("outputs").get(0).asText();
            assertEquals("files/runs/" + id + "/outputs/0.png", out);
            HttpResponse<byte[]> png = client.send(HttpRequest.newBuilder(base.resolve(out)).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, png.statusCode());
            assertEquals("image/png", png.headers().firstValue("Content-Type").orElse(""));
            assertArrayEquals(Files.readAllBytes(store.runDir(id).resolve("outputs/0.png")), png.body());
            assertEquals(200, get(base.resolve(data.get("runs").get(3).get("record").asText())).statusCode());
            // nothing outside a run folder, and no link out of the store
            for (String bad : List.of("files/runs/" + id + "/..%2F..%2Findex.jsonl", "files/runs/..%2Findex.jsonl",
                    "files/runs/" + id + "/outside.txt", "files/runs/" + id + "/outputs", "index.jsonl", ".lock")) {
                assertEquals(404, get(base.resolve(bad)).statusCode(), bad);
            }

            // the API: only with the page's token, only POST
            assertEquals(403, post(base, "api/star?run=" + id, "1", null).statusCode());
            assertEquals(403, post(base, "api/star?run=" + id, "1", "0".repeat(48)).statusCode());
            assertEquals(405, get(base.resolve("api/star?run=" + id)).statusCode());
            assertFalse(store.notes(id).starred(), "nothing saved without the token");
            HttpResponse<String> star = post(base, "api/star?run=" + id, "1", token);
            assertEquals(200, star.statusCode(), star.body());
            assertTrue(RunStore.JSON.readValue(star.body(), RunNotes.class).starred());
            assertTrue(store.notes(id).starred(), "saved into the store");
            assertEquals(200, post(base, "api/note?run=" + id, "served: keep this one", token).statusCode());
            assertEquals("served: keep this one", store.notes(id).note());
            assertTrue(store.notes(id).starred(), "the note keeps the star");
            assertEquals(List.of(id), new RunFilter(null, null, List.of("starred=1")).select(store.list().runs()).stream().map(RunStore.Entry::id).toList());
            HttpResponse<String> bell = post(base, "api/note?run=" + id, "bell\u0007", token);
            assertEquals(400, bell.statusCode());
            assertTrue(bell.body().contains("note: control character U+0007"), bell.body());
            assertEquals(400, post(base, "api/star?run=" + id, "maybe", token).statusCode());
            assertEquals(400, post(base, "api/star?run=nope", "1", token).statusCode());
            // the next page load shows them
            JsonNode again = data(get(base).body()).get("runs").get(3);
            assertTrue(again.get("starred").asBoolean());
            assertEquals("served: keep this one", again.get("note").asText());

            // a request for another host name (DNS rebinding) is refused
            assertTrue(rawStatusLine(server, "evil.example:" + server.address().getPort()).contains(" 403 "));
            assertTrue(rawStatusLine(server, "localhost:" + server.address().getPort()).contains(" 200 "));

            // in Chromium the served page shows all 8 images and a star button per run
            String chromium = ComparePageTest.chromium();
            if (chromium != null) {
                String dom = ComparePageTest.run(chromium, tmp, "--dump-dom", "--virtual-time-budget=10000", base.toString());
                assertTrue(dom.contains("<title>jdiffusion compare: 8 of 8 images shown</title>"), dom.substring(0, Math.min(400, dom.length())));
                assertEquals(8, ComparePageTest.count(dom, "<button class=\"star\" type=\"button\""));
                assertEquals(1, ComparePageTest.count(dom, "<button class=\"star\" type=\"button\" title=\"unstar\">★</button>"));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> RunServer.start(store, new RunFilter(null, null, List.of("nosuchkey=1")), 0));
        assertThrows(IllegalArgumentException.class, () -> RunServer.start(store, new RunFilter(null, null, null), 70000));
    }

    private HttpResponse<String> get(URI u) throws Exception {
        return client.send(HttpRequest.newBuilder(u).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(URI base, String path, String body, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) b.header(RunServer.TOKEN_HEADER, token);
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String rawStatusLine(RunServer server, String host) throws Exception {
        try (Socket s = new Socket(server.address().getAddress(), server.address().getPort())) {
            OutputStream o = s.getOutputStream();
            o.write(("GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            o.flush();
            InputStream in = s.getInputStream();
            StringBuilder line = new StringBuilder();
            for (int c; (c = in.read()) >= 0 && c != '\n'; ) line.append((char) c);
            return line.toString();
        }
    }

    private static JsonNode data(String html) throws Exception {
        int i = html.indexOf("const DATA = ") + "const DATA = ".length();
        return RunStore.JSON.readTree(html.substring(i, html.indexOf(";\nconst RUNS", i)));
    }
}
