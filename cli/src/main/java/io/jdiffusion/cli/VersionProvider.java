package io.jdiffusion.cli;

import io.jdiffusion.pipelines.Version;
import picocli.CommandLine;

final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() { return new String[] {"jdiffusion " + Version.VERSION + " (Java " + Runtime.version() + ")"}; }
}
