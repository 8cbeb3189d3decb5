package dev.mnv3.core.backend;

/** A backend that cannot run on this machine; the message says what was looked for and where. */
public class BackendUnavailableException extends RuntimeException {
    public BackendUnavailableException(String message) {
        super(message);
    }

    public BackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
