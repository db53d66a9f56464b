"""A test session's anvil dies with its process: a pytest run killed at a timeout (or a mutant's
run killed at its CPU limit, `./spoke mutate`) leaves no node behind. Other nodes (`./spoke up`,
whose supervisor stops its node itself; a benchmark's, started from a thread pool) are not tied
to the thread that started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from web3 import HTTPProvider, Web3

ROOT = Path(__file__).resolve().parents[2]

STARTER = """
import sys, time
from stack.embedded import Anvil
node = Anvil(with_parent=sys.argv[1] == "tied").start()
print(node.proc.pid, node.rpc_url, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a dead child not yet reaped by its new parent is a zombie: gone for our purpose
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] \
        if Path(f"/proc/{pid}/stat").exists() else "X"
    return state not in ("Z", "X")


def start_and_kill_starter(mode: str) -> tuple[int, str]:
    starter = subprocess.Popen([sys.executable, "-c", STARTER, mode], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    assert starter.stdout is not None
    pid, url = starter.stdout.readline().split()
    node = int(pid)
    assert alive(node)
    starter.send_signal(signal.SIGKILL)  # as a timeout kills a mutant's run: no clean-up runs
    starter.wait()  # the kernel signals a tied child as its parent exits, before this returns
    return node, url


def wait_gone(pid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return False


def test_a_killed_test_process_takes_its_anvil_with_it() -> None:
    node, _ = start_and_kill_starter("tied")
    assert wait_gone(node), f"anvil {node} outlived the process that started it"


def test_an_untied_anvil_is_not_tied_to_its_starter() -> None:
    node, url = start_and_kill_starter("free")
    try:
        assert Web3(HTTPProvider(url)).eth.block_number == 0  # still serving after its starter died
        assert alive(node)
    finally:
        os.kill(node, signal.SIGKILL)
