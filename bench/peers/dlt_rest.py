"""dlt doing the same job as bench_rest.py: rest_api source → SQLite via the sqlalchemy destination,
primary key, the same 5 mapped columns, merge on re-run. Run with a python that has dlt installed.

    python dlt_rest.py BASE_URL DB_PATH
"""

from __future__ import annotations

import json
import sys
import time

import dlt
from dlt.sources.rest_api import rest_api_source


def main() -> None:
    base_url, db_path = sys.argv[1], sys.argv[2]
    source = rest_api_source(
        {
            "client": {"base_url": base_url},
            "resources": [
                {
                    "name": "people",
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "endpoint": {
                        "path": "people",
                        "params": {"per_page": 1000},
                        "data_selector": "data",
                        "paginator": {
                            "type": "page_number",
                            "page_param": "page",
                            "base_page": 1,
                            "total_path": None,
                            "stop_after_empty_page": True,
                        },
                    },
                }
            ],
        }
    )

    def shape(row: dict) -> dict:
        return {
            "id": row["id"],
            "name": f"{row['first_name']} {row['last_name']}",
            "email": row["email"],
            "city": row["address"]["city"],
            "postcode": row["address"]["postcode"],
            "active": row["active"],
        }

    source.resources["people"].add_map(shape)
    pipeline = dlt.pipeline(
        "bench_people",
        destination=dlt.destinations.sqlalchemy(f"sqlite:///{db_path}"),
        dataset_name="main",
        progress=None,
    )
    start = time.perf_counter()
    info = pipeline.run(source)
    seconds = time.perf_counter() - start
    rows = pipeline.last_trace.last_normalize_info.row_counts.get("people", 0) if pipeline.last_trace else 0
    print(json.dumps({"records": rows, "seconds": seconds, "loads": len(info.load_packages)}))


if __name__ == "__main__":
    main()
