"""download_url against a local HTTP server (127.0.0.1): retries, resumption, progress."""

import http.server
import io
import threading
import urllib.error

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom.data import _files
from tinygrad_mom.data import idx as mnist

PAYLOAD = np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes()


class _Server:
    """Serves ``files`` with Range support; ``cut`` drops the first N responses half-way."""

    def __init__(self, files):
        self.files, self.ranges, self.cut, self.ignore_range = files, [], 0, False
        self.fail_status = []  # statuses to answer first, one per request
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.ranges.append(self.headers.get("Range"))
                if server.fail_status:
                    self.send_error(server.fail_status.pop(0))
                    return
                data = server.files.get(self.path.lstrip("/"))
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                wanted = self.headers.get("Range")
                if wanted and not server.ignore_range:
                    start = int(wanted.removeprefix("bytes=").rstrip("-"))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut:
                    server.cut -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server({"data.bin": PAYLOAD})
    yield s
    s.close()


def _get(server, tmp_path, **kwargs):
    kwargs = {"backoff": 0.0, "progress": False, "timeout": 10, **kwargs}
    return _files.download_url(f"{server.url}/data.bin", tmp_path / "data.bin", **kwargs)


def test_plain_download(server, tmp_path):
    assert _get(server, tmp_path).read_bytes() == PAYLOAD
    assert server.ranges == [None] and not (tmp_path / "data.bin.part").exists()


def test_a_dropped_connection_is_retried_from_where_it_stopped(server, tmp_path):
    server.cut = 1
    assert _get(server, tmp_path).read_bytes() == PAYLOAD
    assert server.ranges == [None, f"bytes={len(PAYLOAD) // 2}-"]


def test_a_part_left_by_an_earlier_call_is_resumed(server, tmp_path):
    server.cut = 5
    with pytest.raises(OSError, match="connection closed after"):
        _get(server, tmp_path, retries=0)
    assert (tmp_path / "data.bin.part").stat().st_size == len(PAYLOAD) // 2
    server.cut = 0
    assert _get(server, tmp_path).read_bytes() == PAYLOAD
    assert server.ranges[-1] == f"bytes={len(PAYLOAD) // 2}-"


def test_a_server_that_ignores_range_gets_a_fresh_download(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(b"stale bytes")
    server.ignore_range = True
    assert _get(server, tmp_path).read_bytes() == PAYLOAD


def test_server_errors_are_retried_and_client_errors_are_not(server, tmp_path):
    server.fail_status = [503, 502]
    assert _get(server, tmp_path).read_bytes() == PAYLOAD
    assert len(server.ranges) == 3
    with pytest.raises(urllib.error.HTTPError, match="404"):
        _files.download_url(f"{server.url}/missing", tmp_path / "m", backoff=0.0, progress=False)
    assert server.ranges[3:] == [None]  # one request: a 404 is final


def test_progress_bar_on_a_terminal(server, tmp_path, monkeypatch):
    pytest.importorskip("tqdm")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    _get(server, tmp_path, progress=True)
    shown = terminal.getvalue()
    assert "data.bin" in shown and "195k" in shown.lower()  # 200,000 bytes in KiB


def test_fetch_downloads_checks_the_checksum_and_deletes_a_bad_file(server, tmp_path, monkeypatch):
    # the data tests' conftest takes the network away; give fetch the real downloader back
    monkeypatch.setattr(
        _files, "_download", lambda url, dest: _files.download_url(url, dest, progress=False)
    )
    good = _files.md5sum(_get(server, tmp_path / "ref"))
    path = _files.fetch(tmp_path / "c", "data.bin", [f"{server.url}/data.bin"], good, True, "T")
    assert path.read_bytes() == PAYLOAD
    with pytest.raises(FileNotFoundError, match="published checksum"):
        _files.fetch(tmp_path / "d", "data.bin", [f"{server.url}/data.bin"], "0" * 32, True, "T")
    assert not (tmp_path / "d" / "data.bin").exists()


def test_mnist_through_the_local_server(tmp_path, monkeypatch):
    from test_data_formats import make_mnist  # the small IDX files the format tests write

    source = tmp_path / "files"
    make_mnist(source)
    files = {p.name: p.read_bytes() for p in source.iterdir()}
    s = _Server(files)
    try:
        s.cut = 1  # the first file's first response breaks off half-way
        for name in files:
            monkeypatch.setitem(
                mnist.RESOURCES["mnist"]["files"], name, _files.md5sum(source / name)
            )
        monkeypatch.setitem(mnist.RESOURCES["mnist"], "mirrors", [s.url + "/"])
        monkeypatch.setattr(
            _files, "_download", lambda url, dest: _files.download_url(url, dest, backoff=0.0)
        )
        train, test = tm.data.mnist()
        assert len(train) == 5 and len(test) == 3
        assert sum(r is not None for r in s.ranges) == 1  # the broken file was resumed
    finally:
        s.close()
