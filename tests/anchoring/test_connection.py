"""A read sent on a keep-alive connection the node drops under it is retried; a transaction
never is. The node here is a loopback stand-in that answers one request per connection and
resets the connection when a second arrives on it (what a node closing idle connections on its
own clock does to a request sent as it closes)."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from typing import BinaryIO

import pytest
import requests

from anchoring.connection import connect

CHAIN_ID = 1337


class OneRequestNode:
    """Counts requests by method; answers the first request of each connection, resets on the
    second."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.methods: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            reader = conn.makefile("rb")
            request = _read_request(reader)
            if request is None:
                return
            self.methods.append(request["method"])
            result = hex(CHAIN_ID) if request["method"] == "eth_chainId" else "0x1"
            body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            conn.sendall(head.encode() + body)
            second = _read_request(reader)
            if second is not None:
                self.methods.append(second["method"] + " (reset)")
                # SO_LINGER 0: close with RST, as a peer that dropped the connection does.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def close(self) -> None:
        self.listener.close()


def _read_request(reader: BinaryIO) -> dict[str, object] | None:
    length = 0
    while True:
        line = reader.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    answer: dict[str, object] = json.loads(reader.read(length))
    return answer


@pytest.fixture
def node() -> Iterator[OneRequestNode]:
    stand_in = OneRequestNode()
    yield stand_in
    stand_in.close()


def test_a_read_on_a_dropped_keep_alive_is_retried(node: OneRequestNode) -> None:
    w3 = connect(node.url, CHAIN_ID)  # the first eth_chainId, on connection 1
    assert w3.eth.block_number == 1  # sent on connection 1, reset; sent again on connection 2
    assert node.methods == ["eth_chainId", "eth_blockNumber (reset)", "eth_blockNumber"]


def test_a_transaction_on_a_dropped_keep_alive_is_not_sent_twice(node: OneRequestNode) -> None:
    w3 = connect(node.url, CHAIN_ID)
    with pytest.raises(requests.ConnectionError):
        w3.eth.send_raw_transaction(b"\x01")
    assert node.methods == ["eth_chainId", "eth_sendRawTransaction (reset)"]
