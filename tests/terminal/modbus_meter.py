"""A Modbus TCP register bank standing in for a plant's meters, run as its own process.

The test plays the physics: it writes each meter's register (one write per value, so a 32-bit
register changes atomically) and the gateway reads it like any meter. Killing this process is
a meter dropout; starting it again on the same port with ``--value`` is the meter coming back.

    python -m tests.terminal.modbus_meter PORT [--value ADDRESS=N ...] [--input ADDRESS=W,W ...]

Input registers are read-only to clients, so their words are given at start.
"""

from __future__ import annotations

import argparse

from pymodbus.datastore import (
    ModbusDeviceContext,
    ModbusSequentialDataBlock,
    ModbusServerContext,
)
from pymodbus.server import StartTcpServer

REGISTERS = 64


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--value", action="append", default=[], help="ADDRESS=UINT32 at start")
    parser.add_argument("--input", action="append", default=[], help="ADDRESS=WORD,WORD,...")
    args = parser.parse_args()
    inputs = [0] * REGISTERS
    for item in args.input:
        address, words = item.split("=")
        values = [int(w, 0) for w in words.split(",")]
        inputs[int(address) : int(address) + len(values)] = values
    words = [0] * REGISTERS
    for item in args.value:
        address, value = (int(x) for x in item.split("="))
        words[address : address + 2] = [value >> 16, value & 0xFFFF]
    # Data blocks count from 1: protocol address 0 is the block's first word.
    block = ModbusSequentialDataBlock(1, words)
    registers = ModbusSequentialDataBlock(1, inputs)
    context = ModbusServerContext(devices=ModbusDeviceContext(hr=block, ir=registers), single=True)
    StartTcpServer(context, address=("127.0.0.1", args.port))


if __name__ == "__main__":
    main()
