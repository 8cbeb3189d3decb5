package dev.mnv3.cli;

public final class Main {
    public static void main(String[] args) {
    }
}
