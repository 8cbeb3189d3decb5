/**
 * The {@code mnv3} command ({@link dev.mnv3.cli.Main}). Other modules add commands as
 * {@link dev.mnv3.cli.Subcommand} services and reuse the public option mixins. The jars that run
 * {@code ./mnv3} are shaded onto the class path, without this descriptor; it holds the CLI to its
 * dependencies' exported packages when it compiles.
 */
module dev.mnv3.cli {
    requires transitive dev.mnv3.api;
    requires dev.mnv3.cpu;
    requires dev.mnv3.cuda;
    requires dev.mnv3.serve;
    requires transitive info.picocli;
    requires java.desktop;
    requires java.management;
    requires org.jfree.jfreechart;
    requires org.jfree.svg;

    exports dev.mnv3.cli;

    // picocli sets the annotated option fields reflectively
    opens dev.mnv3.cli to info.picocli;

    uses dev.mnv3.cli.Subcommand;

    provides dev.mnv3.cli.Subcommand with dev.mnv3.cli.ServeCommand;
}
