"""Sends vw-serve a JSON body over --max-body with Python's http.client,
which writes the whole body before it reads the answer, and prints the
status and the detail it got. Without the server's lingering close the
client sees a broken pipe or a reset instead.

Usage: python3 serve_http_client.py PORT
"""
import http.client
import json
import sys


def main():
    port = int(sys.argv[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"ids": list(range(5000)),
                       "vectors": [[0.5] * 8] * 5000}).encode()
    body += b" " * (3 << 20)
    conn.request("POST", "/vectors", body=body,
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    detail = json.loads(resp.read())["detail"]
    print(resp.status, detail)


if __name__ == "__main__":
    main()
