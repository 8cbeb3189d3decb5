package dev.mnv3.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** An input size given as "HxW" or a single "S" (square). */
record Sizes(int height, int width) {

    @Override
    public String toString() {
        return height + "x" + width;
    }

    static final class Converter implements ITypeConverter<Sizes> {
        @Override
        public Sizes convert(String value) {
            String[] parts = value.toLowerCase(java.util.Locale.ROOT).split("x", -1);
            try {
                if (parts.length == 1) {
                    int s = Integer.parseInt(parts[0].trim());
                    return check(s, s, value);
                }
                if (parts.length == 2) {
                    return check(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()), value);
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new TypeConversionException("'" + value + "' is not a size: use HxW (e.g. 224x224) or one number");
        }

        private static Sizes check(int h, int w, String value) {
            if (h < 1 || w < 1) throw new TypeConversionException("size '" + value + "' must be positive");
            return new Sizes(h, w);
        }
    }
}
