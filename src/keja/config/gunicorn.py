"""gunicorn settings for ``make serve`` and the Kubernetes web Deployment."""

import os

bind = os.environ.get("KEJA_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("KEJA_WEB_WORKERS", "2"))
threads = int(os.environ.get("KEJA_WEB_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("KEJA_WEB_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("KEJA_WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
accesslog = None
control_socket_disable = True
