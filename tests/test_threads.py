import os
import platform
import subprocess
import sys

import pytest
import torch

from nncz.threads import idle_cores, prefer_passive_wait, set_torch_threads


@pytest.mark.parametrize(("load", "expected"), [(0.0, 2), (0.4, 2), (0.6, 1), (1.0, 1),
                                                (7.5, 1)])
def test_idle_cores_counts_the_cores_other_jobs_leave(load, expected):
    assert idle_cores(cores=2, load=load) == expected


def test_idle_cores_never_exceeds_the_cores():
    assert idle_cores(cores=16, load=0.0) == 16
    assert idle_cores(cores=16, load=3.2) == 13


def test_set_torch_threads_order_of_precedence(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert set_torch_threads(2) == 2 and torch.get_num_threads() == 2  # --threads wins
        assert set_torch_threads() == 1 and torch.get_num_threads() == 1  # then the user's env
        monkeypatch.delenv("OMP_NUM_THREADS")
        monkeypatch.setattr(os, "getloadavg", lambda: (99.0, 99.0, 99.0))
        assert set_torch_threads() == 1  # then the idle cores: none idle, one thread
    finally:
        torch.set_num_threads(before)


def test_passive_wait_does_not_override_the_user(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    prefer_passive_wait()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    prefer_passive_wait()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_threads_without_torch_loaded_go_through_the_environment():
    """Without --threads, a verb that never needs torch does not import it to set its threads;
    torch, loaded later, takes the idle-core count from OMP_NUM_THREADS."""
    code = ("import os, sys; os.environ.pop('OMP_NUM_THREADS', None); "
            "os.getloadavg = lambda: (99.0, 99.0, 99.0); "
            "from nncz.threads import set_torch_threads; "
            "assert set_torch_threads() == 1 and 'torch' not in sys.modules; "
            "import torch; print(torch.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "1"


def test_one_malloc_arena_sets_glibcs_arena_limit(monkeypatch):
    """The nncz command limits glibc to one heap (mallopt M_ARENA_MAX = 1); without a C
    library that has mallopt nothing is called."""
    from nncz import threads

    calls = []

    class FakeLibc:
        def mallopt(self, parameter, value):
            calls.append((parameter, value))
            return 1

    monkeypatch.setattr(threads, "c_library", lambda: FakeLibc())
    threads.one_malloc_arena()
    assert calls == [(-8, 1)]  # glibc's M_ARENA_MAX
    monkeypatch.setattr(threads, "c_library", lambda: object())
    threads.one_malloc_arena()
    assert calls == [(-8, 1)]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's functions")
def test_the_c_library_is_found_without_ldconfig():
    from nncz.threads import c_library

    libc = c_library()
    assert libc is not None and hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt")
