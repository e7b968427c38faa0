package io.jdiffusion.runs;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/**
 * The files a compare page links to: each run's {@code run.json}, outputs and inputs, either copied
 * into a folder beside the page ({@code page.html} → {@code page_files/runs/<id>/…}, linked by
 * relative URLs, so the page and its folder can be moved, zipped or served together), or inlined as
 * data URIs ({@code embed}: one file that travels alone).
 *
 * <p>Only files the store lets out are copied ({@link StoreFiles#read}: regular files inside the
 * store, of bounded size); a file that is refused or missing links to "missing:…", which the page
 * shows as a broken image and counts as failed. The folder is filled under a temporary name and
 * then put in place of the previous one, so a page never links into a half-written folder.
 */
final class PageFiles implements AutoCloseable {
    private final RunStore store;
    private final boolean embed;
    private final Path folder;   // the final folder beside the page (null when embedding or served)
    private final Path staging;  // where it is filled
    private final Map<Path, String> done = new HashMap<>();

    private PageFiles(RunStore store, boolean embed, Path folder, Path staging) {
        this.store = store;
        this.embed = embed;
        this.folder = folder;
        this.staging = staging;
    }

    /** The files of the page {@code page} (absolute); nothing is written when {@code embed}. */
    static PageFiles open(RunStore store, Path page, boolean embed) throws IOException {
        if (embed) return new PageFiles(store, true, null, null);
        Path folder = folderOf(page);
        if (Files.isSymbolicLink(folder) || (Files.exists(folder, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS))) {
            throw new IOException(folder + " (the page's files) is a link or not a folder; refused (move it away or choose another page name)");
        }
        Path staging = StoreFiles.createUniqueDir(folder.getParent(), "." + folder.getFileName() + ".tmp-");
        return new PageFiles(store, false, folder, staging);
    }

    /** Links for a page that {@link RunServer} serves: files stay in the store, linked as {@code files/runs/<id>/…}. */
    static PageFiles served(RunStore store) {
        return new PageFiles(store, false, null, null);
    }

    /** {@code dir/page.html} → {@code dir/page_files}. */
    static Path folderOf(Path page) {
        String name = page.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return page.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + "_files");
    }

    /** The link to a run's file (relative to the run folder, as its record names it). */
    String link(RunRecord run, String relative, String mime) {
        Path file;
        try {
            file = store.file(run, relative);
        } catch (RunStoreException e) {
            return "missing:" + relative;
        }
        if (!embed && folder == null) return RunServer.FILES + url(run.id()) + "/" + relativeUrl(store.runDir(run.id()).relativize(file));
        return done.computeIfAbsent(file, f -> copy(run, relative, f, mime));
    }

    private String copy(RunRecord run, String relative, Path file, String mime) {
        try {
            byte[] bytes = StoreFiles.read(store.dir(), file, embed ? StoreFiles.MAX_EMBED_BYTES : StoreFiles.MAX_STORED_FILE_BYTES);
            if (embed) return "data:" + mime + ";base64," + Base64.getEncoder().encodeToString(bytes);
            Path rel = Path.of("runs", run.id()).resolve(store.runDir(run.id()).relativize(file));
            Path target = staging.resolve(rel);
            Files.createDirectories(target.getParent());
            Files.write(target, bytes);
            return url(folder.getFileName().toString()) + "/" + relativeUrl(rel);
        } catch (IOException e) {
            return "missing:" + file; // shown as a broken image and counted as failed
        }
    }

    private static String relativeUrl(Path rel) {
        StringBuilder sb = new StringBuilder();
        for (Path part : rel) sb.append(sb.isEmpty() ? "" : "/").append(url(part.toString()));
        return sb.toString();
    }

    private static String url(String part) {
        return URLEncoder.encode(part, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** Puts the filled folder in place of the previous one (call after the page is written). */
    void publish() throws IOException {
        if (embed || folder == null) return;
        if (Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) StoreFiles.deleteTree(folder);
        Files.move(staging, folder, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Removes the staging folder when the page was not published. */
    @Override
    public void close() throws IOException {
        if (staging != null && Files.exists(staging, LinkOption.NOFOLLOW_LINKS)) StoreFiles.deleteTree(staging);
    }
}
