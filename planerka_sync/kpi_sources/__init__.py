"""Where metric values come from: typed pairs (:mod:`.manual`), a CSV file (:mod:`.csv_source`)
and an http endpoint returning JSON (:mod:`.http_json`). Tracker-derived metrics are computed by
the service. Each source returns plain values; storing them is the service's job."""
