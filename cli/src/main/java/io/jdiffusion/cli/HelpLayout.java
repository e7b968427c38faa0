package io.jdiffusion.cli;

import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.UsageMessageSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Help text laid out for the terminal's width (80 columns when it is not a terminal). Descriptions in
 * the sources are broken into lines to fit the code, not the screen: consecutive lines are joined into
 * paragraphs (a blank line keeps paragraphs apart; a line that starts with a space, an example or a list
 * item, stays as it is), and each paragraph is wrapped here, at spaces only, for the width the help is
 * printed at. picocli's own wrapping is not used for them: it also breaks after a dot, so "cv2.dilate"
 * or "~/.cache" came out split across lines. Examples in footers are written to fit 80 columns. Long
 * synopses are abbreviated to [OPTIONS] (the options follow, one per row); the command list shows each
 * command's first sentence; guidance shows the default of the command's own pipeline.
 */
final class HelpLayout {
    /** Commands with more options than this get the synopsis "[OPTIONS]" instead of every option. */
    static final int SYNOPSIS_OPTIONS = 8;

    /** Per command: its description and its options' descriptions as paragraphs (wrapped anew for each help). */
    private final Map<CommandSpec, String[]> descriptions = new java.util.IdentityHashMap<>();
    private final Map<CommandSpec, Map<String, String[]>> optionTexts = new java.util.IdentityHashMap<>();

    private HelpLayout() {}

    /** Lays out the help of {@code cl} and all its subcommands. */
    static CommandLine apply(CommandLine cl) {
        HelpLayout h = new HelpLayout();
        cl.setUsageHelpAutoWidth(true);
        h.layout(cl);
        cl.setHelpFactory(h::help);
        return cl;
    }

    private void layout(CommandLine cl) {
        CommandSpec spec = cl.getCommandSpec();
        UsageMessageSpec u = spec.usageMessage();
        descriptions.put(spec, paragraphs(u.description()));
        if (spec.options().size() > SYNOPSIS_OPTIONS) u.abbreviateSynopsis(true);
        // a default that depends on the command (the pipeline's guidance scale)
        Map<String, String> defaults = spec.userObject() instanceof GenerateCommand g
                ? Map.of("--guidance", java.math.BigDecimal.valueOf(g.defaultGuidance()).stripTrailingZeros().toPlainString()) : Map.of();
        Map<String, String[]> texts = new java.util.HashMap<>();
        for (OptionSpec o : spec.options()) {
            String[] d = paragraphs(o.description());
            String def = defaults.get(o.longestName());
            if (def != null && d.length > 0) d[d.length - 1] = d[d.length - 1] + " (default: " + def + ")";
            texts.put(o.longestName(), d);
        }
        optionTexts.put(spec, texts);
        cl.getHelpSectionMap().put(UsageMessageSpec.SECTION_KEY_COMMAND_LIST, HelpLayout::commandList);
        for (CommandLine sub : cl.getSubcommands().values()) layout(sub);
    }

    /** The help of one command at the width it is printed at: every paragraph wrapped to its column. */
    private Help help(CommandSpec spec, Help.ColorScheme scheme) {
        int width = spec.usageMessage().width();
        if (descriptions.containsKey(spec)) spec.usageMessage().description(wrap(descriptions.get(spec), width, 0));
        Map<String, String[]> texts = optionTexts.get(spec);
        if (texts != null) {
            // the description column starts after "  -g, " and the long-option column, plus one space
            int column = width - (5 + new Help(spec, scheme).calcLongOptionColumnWidth(spec.options(), spec.positionalParameters(), scheme) + 1) - 1;
            // OptionSpec is immutable: rebuild every option, in order, so the list keeps the declared order
            List<OptionSpec> options = new ArrayList<>(spec.options());
            for (OptionSpec o : options) spec.remove(o);
            for (OptionSpec o : options) {
                String[] d = texts.get(o.longestName());
                spec.addOption(d == null ? o : o.toBuilder().description(wrap(d, column, 2)).build());
            }
        }
        return new Help(spec, scheme);
    }

    /** Joins source lines into paragraphs: blank lines separate them, lines starting with a space stand alone. */
    static String[] paragraphs(String[] lines) {
        List<String> out = new ArrayList<>();
        StringBuilder p = new StringBuilder();
        for (String l : lines) {
            if (l.isBlank() || Character.isWhitespace(l.charAt(0))) {
                if (!p.isEmpty()) out.add(p.toString());
                p.setLength(0);
                out.add(l);
            } else {
                if (!p.isEmpty()) p.append(' ');
                p.append(l.strip());
            }
        }
        if (!p.isEmpty()) out.add(p.toString());
        return out.toArray(String[]::new);
    }

    /**
     * Wraps each paragraph at spaces to lines of at most {@code width} characters (a longer word stays
     * whole); lines after a paragraph's first are indented by {@code hang}. Verbatim lines are kept.
     */
    static String[] wrap(String[] paragraphs, int width, int hang) {
        List<String> out = new ArrayList<>();
        for (String p : paragraphs) {
            if (p.isBlank() || Character.isWhitespace(p.charAt(0))) {
                out.add(p);
                continue;
            }
            StringBuilder line = new StringBuilder();
            for (String word : p.split(" +")) {
                if (!line.isEmpty() && line.length() + 1 + word.length() > width) {
                    out.add(line.toString());
                    line.setLength(0);
                    line.append(" ".repeat(hang));
                }
                if (!line.isEmpty() && !line.toString().isBlank()) line.append(' ');
                line.append(word);
            }
            out.add(line.toString());
        }
        return out.toArray(String[]::new);
    }

    private static final Pattern FIRST_SENTENCE = Pattern.compile("^(.+?)[.:](\\s|$)");

    /** The first sentence of a command's description (what the command list shows). */
    static String summary(CommandSpec spec) {
        String[] header = spec.usageMessage().header();
        String[] d = paragraphs(spec.usageMessage().description());
        String text = header.length > 0 ? header[0] : d.length > 0 ? d[0] : "";
        Matcher m = FIRST_SENTENCE.matcher(text);
        return m.find() ? m.group(1) + "." : text;
    }

    private static String commandList(Help help) {
        Map<String, Help> subs = help.subcommands();
        if (subs.isEmpty()) return "";
        int names = subs.keySet().stream().mapToInt(String::length).max().orElse(0) + 4;
        int width = help.commandSpec().usageMessage().width();
        Help.TextTable t = Help.TextTable.forColumns(help.colorScheme(),
                new Help.Column(names, 2, Help.Column.Overflow.SPAN), new Help.Column(width - names, 2, Help.Column.Overflow.WRAP));
        for (Map.Entry<String, Help> e : subs.entrySet()) {
            String[] lines = wrap(new String[] {summary(e.getValue().commandSpec())}, width - names - 3, 2);
            for (int i = 0; i < lines.length; i++) t.addRowValues(i == 0 ? e.getKey() : "", lines[i]);
        }
        return t.toString();
    }
}
