/*
 * GraalVM's own configuration code as a test oracle (see tests/test_oracle.py).
 *
 * Reads jobs from stdin, one per line, tab-separated, and prints one JSON line per job with
 * everything GraalVM's code threw ("errors") or printed ("output": its warnings):
 *
 *   parse<TAB>DIR           every metadata file in DIR through the parser native-image uses for
 *                           it, in strict mode (STRICT_CONFIGURATION: an unknown attribute is an
 *                           error), legacy files without TREAT_ALL_TYPE_REACHABLE_CONDITIONS_AS_
 *                           TYPE_REACHED (so 'typeReached' in a legacy file is rejected, as the
 *                           builder rejects it)
 *   generate<TAB>ARG...     `native-image-configure generate ARG...` (ConfigurationGenerateCommand)
 *   globs<TAB>GLOB...       GlobUtils.validatePattern of each glob: one "INDEX: reason" error per invalid one
 *
 * Many jobs share one JVM, so a few hundred cases cost one startup.
 */

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;

import com.oracle.svm.configure.ConfigurationBase;
import com.oracle.svm.configure.ConfigurationParser;
import com.oracle.svm.configure.ConfigurationParserOption;
import com.oracle.svm.configure.command.ConfigurationGenerateCommand;
import com.oracle.svm.configure.config.PredefinedClassesConfiguration;
import com.oracle.svm.configure.config.ProxyConfiguration;
import com.oracle.svm.configure.config.ResourceConfiguration;
import com.oracle.svm.configure.config.SerializationConfiguration;
import com.oracle.svm.configure.config.TypeConfiguration;
import com.oracle.svm.util.GlobUtils;

import jdk.graal.compiler.phases.common.LazyValue;

public final class Oracle {
    private static final EnumSet<ConfigurationParserOption> STRICT = EnumSet.of(ConfigurationParserOption.STRICT_CONFIGURATION);

    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        PrintStream err = System.err;
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        int job = 0;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                continue;
            }
            String[] parts = line.split("\t");
            List<String> errors = new ArrayList<>();
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            PrintStream capture = new PrintStream(captured, true, StandardCharsets.UTF_8);
            System.setOut(capture);
            System.setErr(capture);
            long start = System.nanoTime();
            try {
                switch (parts[0]) {
                    case "parse" -> parseDir(Path.of(parts[1]), errors);
                    case "generate" -> new ConfigurationGenerateCommand().apply(Arrays.asList(parts).subList(1, parts.length).iterator());
                    case "globs" -> {
                        for (int i = 1; i < parts.length; i++) {
                            String problem = GlobUtils.validatePattern(parts[i]);
                            if (!problem.isEmpty()) {
                                errors.add((i - 1) + ": " + problem);
                            }
                        }
                    }
                    default -> errors.add("unknown job " + parts[0]);
                }
            } catch (Throwable t) {
                errors.add(describe(t));
            } finally {
                System.setOut(out);
                System.setErr(err);
            }
            long micros = (System.nanoTime() - start) / 1000;
            out.println("{\"job\":" + job++ + ",\"micros\":" + micros + ",\"errors\":" + jsonList(errors) + ",\"output\":" +
                            jsonString(captured.toString(StandardCharsets.UTF_8)) + "}");
            out.flush();
        }
    }

    private static void parseDir(Path dir, List<String> errors) {
        parse(dir, "reachability-metadata.json", errors, () -> new TypeConfiguration().createParser(true, STRICT));
        parse(dir, "reachability-metadata.json", errors, () -> new TypeConfiguration().createParser(true, EnumSet.of(ConfigurationParserOption.STRICT_CONFIGURATION, ConfigurationParserOption.JNI_PARSER)));
        parse(dir, "reachability-metadata.json", errors, () -> new ResourceConfiguration().createParser(true, STRICT));
        parse(dir, "reachability-metadata.json", errors, () -> new SerializationConfiguration().createParser(true, STRICT));
        parse(dir, "reflect-config.json", errors, () -> new TypeConfiguration().createParser(false, STRICT));
        parse(dir, "jni-config.json", errors, () -> new TypeConfiguration().createParser(false, EnumSet.of(ConfigurationParserOption.STRICT_CONFIGURATION, ConfigurationParserOption.JNI_PARSER)));
        parse(dir, "resource-config.json", errors, () -> new ResourceConfiguration().createParser(false, STRICT));
        parse(dir, "proxy-config.json", errors, () -> new ProxyConfiguration().createParser(false, STRICT));
        parse(dir, "serialization-config.json", errors, () -> new SerializationConfiguration().createParser(false, STRICT));
        // With a destination dir the parser copies each class's .classdata, as generate does: a
        // config whose class data is missing fails here, as it fails native-image.
        parse(dir, "predefined-classes-config.json", errors, () -> new PredefinedClassesConfiguration(
                        List.of(new LazyValue<>(Oracle::scratchDir)), hash -> false).createParser(false, STRICT));
    }

    private static Path scratch;

    /** One directory per JVM for the copied class data (same hash, same bytes: overwriting is fine). */
    private static synchronized Path scratchDir() {
        try {
            if (scratch == null) {
                scratch = Files.createTempDirectory("oracle-classdata");
            }
            return scratch;
        } catch (java.io.IOException e) {
            throw new RuntimeException(e);
        }
    }

    interface ParserFactory {
        ConfigurationParser create();
    }

    private static void parse(Path dir, String name, List<String> errors, ParserFactory factory) {
        Path file = dir.resolve(name);
        if (!Files.exists(file)) {
            return;
        }
        try {
            factory.create().parseAndRegister(file.toUri());
        } catch (Throwable t) {
            errors.add(name + ": " + describe(t));
        }
    }

    private static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder(t.toString());
        for (Throwable c = t.getCause(); c != null; c = c.getCause()) {
            sb.append(" <- ").append(c);
        }
        return sb.toString();
    }

    private static String jsonList(List<String> items) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < items.size(); i++) {
            sb.append(i == 0 ? "" : ",").append(jsonString(items.get(i)));
        }
        return sb.append(']').toString();
    }

    private static String jsonString(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
