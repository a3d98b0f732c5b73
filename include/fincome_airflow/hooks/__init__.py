"""The Fincome hook (:mod:`.fincome`) and its parts: the connection's settings, one request
retried (:mod:`.retrying`), a record's result (:mod:`.send_result`), the concurrent fan-out
(:mod:`.stream`), the counters, the key's redaction and the connection test's messages."""
