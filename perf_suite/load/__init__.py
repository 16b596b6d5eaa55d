"""Load generation with locust, in a child process (locust patches the standard library with
gevent on import, which the suite's own threads and database clients must not see)."""
