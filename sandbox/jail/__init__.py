"""Code that runs inside the jail: it imports only the standard library and the ML runtime."""
