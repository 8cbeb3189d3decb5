package dev.mnv3.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README stays a front door (at most {@value #README_MAX_LINES} lines, every docs/ page linked
 * from it), and every relative link in README.md and docs/*.md leads to a file or directory of
 * the repository, and its #anchor, where it has one, to a heading of the Markdown file it names.
 */
class DocsTest {
    static final int README_MAX_LINES = 200;
    /** This module's directory is java/core; the repository is two levels up. */
    private static final Path ROOT = Path.of("../..").toAbsolutePath().normalize();
    /** An inline link or image, {@code [text](target)} or {@code [text](target "title")}. */
    private static final Pattern LINK = Pattern.compile("!?\\[[^\\]]*\\]\\(\\s*<?([^)\\s>]+)>?(?:\\s+\"[^\"]*\")?\\s*\\)");
    private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.*?)\\s*#*\\s*$");
    private static final Pattern CODE_SPAN = Pattern.compile("`+[^`]*`+");

    private final Map<Path, Set<String>> anchors = new HashMap<>();

    @Test
    void theReadmeIsShort() throws IOException {
        long lines = Files.readAllLines(ROOT.resolve("README.md")).size();
        assertTrue(lines <= README_MAX_LINES,
                "README.md has " + lines + " lines, more than " + README_MAX_LINES + ": move the detail into docs/");
    }

    @Test
    void everyDocsPageIsLinkedFromTheReadme() throws IOException {
        Set<Path> linked = new HashSet<>();
        for (String target : links(ROOT.resolve("README.md"))) {
            if (!isExternal(target)) linked.add(resolve(ROOT.resolve("README.md"), target));
        }
        List<String> missing = new ArrayList<>();
        for (Path page : docsPages()) {
            if (!linked.contains(page)) missing.add(ROOT.relativize(page).toString());
        }
        assertEquals(List.of(), missing, "docs pages the README does not link to");
    }

    @Test
    void everyRelativeLinkResolves() throws IOException {
        List<Path> files = new ArrayList<>(docsPages());
        files.add(ROOT.resolve("README.md"));
        List<String> broken = new ArrayList<>();
        int checked = 0;
        for (Path file : files) {
            for (String target : links(file)) {
                if (isExternal(target)) continue;
                checked++;
                String problem = problem(file, target);
                if (problem != null) broken.add(ROOT.relativize(file) + ": (" + target + ") " + problem);
            }
        }
        assertTrue(checked > 20, "found only " + checked + " relative links in " + files);
        assertEquals(List.of(), broken, "broken links");
    }

    @Test
    void anchorsAreGitHubs() {
        assertEquals("serving-mnv3-serve", slug("Serving: `mnv3 serve`"));
        assertEquals("what-bad-input-gets", slug("What bad input gets"));
        assertEquals("cpu-reference-2-files", slug("cpu-reference: 2 files"));
        assertEquals("why-ffm-not-jcuda", slug("Why FFM, not jcuda"));
    }

    private String problem(Path from, String target) throws IOException {
        int hash = target.indexOf('#');
        String path = hash < 0 ? target : target.substring(0, hash);
        Path file = path.isEmpty() ? from : resolve(from, path);
        if (!file.startsWith(ROOT)) return "leaves the repository";
        if (!Files.exists(file)) return "no such file";
        if (hash < 0 || !file.toString().endsWith(".md")) return null;
        String anchor = target.substring(hash + 1);
        return anchorsOf(file).contains(anchor) ? null : "no heading #" + anchor + " in " + ROOT.relativize(file);
    }

    private static Path resolve(Path from, String path) {
        return from.getParent().resolve(path.replace("%20", " ")).normalize();
    }

    private static boolean isExternal(String target) {
        return target.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*");
    }

    private static List<Path> docsPages() throws IOException {
        try (Stream<Path> pages = Files.list(ROOT.resolve("docs"))) {
            return pages.filter(p -> p.toString().endsWith(".md")).sorted().toList();
        }
    }

    /** The link targets of a Markdown file, outside fenced code blocks and code spans. */
    static List<String> links(Path file) throws IOException {
        List<String> targets = new ArrayList<>();
        for (String line : prose(file)) {
            Matcher m = LINK.matcher(CODE_SPAN.matcher(line).replaceAll(""));
            while (m.find()) targets.add(m.group(1));
        }
        return targets;
    }

    private Set<String> anchorsOf(Path file) throws IOException {
        Set<String> known = anchors.get(file);
        if (known != null) return known;
        Set<String> found = new HashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        for (String line : prose(file)) {
            Matcher m = HEADING.matcher(line);
            if (!m.matches()) continue;
            String base = slug(m.group(1));
            int n = seen.merge(base, 1, Integer::sum) - 1;
            found.add(n == 0 ? base : base + "-" + n); // GitHub numbers repeated headings
        }
        anchors.put(file, found);
        return found;
    }

    /** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
    static String slug(String heading) {
        String text = heading.replaceAll("\\[([^\\]]*)\\]\\([^)]*\\)", "$1").toLowerCase(Locale.ROOT);
        StringBuilder s = new StringBuilder();
        text.codePoints().forEach(c -> {
            if (Character.isLetterOrDigit(c) || c == '-' || c == '_') s.appendCodePoint(c);
            else if (c == ' ') s.append('-');
        });
        return s.toString();
    }

    private static List<String> prose(Path file) throws IOException {
        List<String> lines = new ArrayList<>();
        boolean fenced = false;
        for (String line : Files.readAllLines(file)) {
            if (line.stripLeading().startsWith("```")) {
                fenced = !fenced;
                continue;
            }
            if (!fenced) lines.add(line);
        }
        return lines;
    }
}
