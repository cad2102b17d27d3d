"""Operating the platform: Prometheus metrics from the api and the workers, structured logs.

Import `multiproc` before anything imports `prometheus_client` (it chooses the metrics folder of
the process group); `metrics` defines every metric; `queues` reads the queue gauges from the
database; `http` times requests and serves the api's `/metrics`; `exposition` guards the metrics
and serves a worker's; `logs` writes JSON lines with the submission id.
"""
