"""Tables past the sizes where storage changes form: texts packed every PACK_ROWS rows, ids built in slices.

A fleet run of a year creates over a million rows one at a time; their
messages are packed into UTF-8 buffers as the run goes and the generated ids
are built slice by slice at the end.  Both must read back exactly what was
written, through the table while the run goes and through the result after.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from notifsim.machine import NotificationTable
from notifsim.machine.columns import PACK_ROWS, PackedText
from notifsim.record import Recorder

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_texts_and_ids_read_back_across_packed_chunks():
    table = NotificationTable(id_epoch_ns=1_767_225_600_000_000_000)
    recorder = Recorder()
    n = 2 * PACK_ROWS + 7
    messages = [f"certificate ✓ {i} — é" if i % 5 else "" for i in range(n)]
    certificates = [None if i % 3 == 0 else f"mc-{i}" for i in range(n)]
    for i in range(n):
        table.create(i * 0.25, type="ExpirationWarning", channel="Email", recipient="o@example.com", message=messages[i], certificate_id=certificates[i])
        recorder.notification("created")
    probes = [0, 1, PACK_ROWS - 1, PACK_ROWS, PACK_ROWS + 1, 2 * PACK_ROWS, n - 1]
    for seq in probes:  # while the run goes: rows in packed chunks and in the open one
        row = table.row(seq)
        assert (row.message, row.certificate_id) == (messages[seq], certificates[seq])
    ids = [table.row(seq).id for seq in range(n)]
    assert len(set(ids)) == n and ids[0] == "notif-1767225600000000000-1" and ids[-1] == f"notif-{1_767_225_600_000_000_000 + (n - 1) * 250_000_000}-{n}"

    notes = recorder.tables(table, START)["notifications"]
    assert notes["message"].tolist() == messages
    assert [None if v is None or v is pd.NA or v != v else v for v in notes["certificate_id"].tolist()] == certificates
    assert notes["id"].tolist() == ids


def test_rows_created_in_groups_read_back_across_packed_chunks():
    """Groups of rows created together (their texts as Python lists, as a fleet's jobs give them) and single rows,
    in sizes that straddle the packing boundaries, read back in order."""
    import numpy as np

    table = NotificationTable(id_epoch_ns=0)
    recorder = Recorder()
    sizes = [1, 7, PACK_ROWS - 9, 3, 5, 1, PACK_ROWS, 2, 40_000]
    messages, certificates = [], []
    for g, size in enumerate(sizes):
        group_messages = [f"group {g} row {i} ✓" for i in range(size)]
        group_certificates = [None if i % 4 == 0 else f"mc-{g}-{i}" for i in range(size)]
        if g % 3 == 2:  # one at a time
            for m, c in zip(group_messages, group_certificates):
                table.create(float(g), type="RenewalSuccess", channel="Email", recipient="o@example.com", message=m, certificate_id=c)
        else:
            codes = np.full(size, table.types.code("RenewalSuccess"), np.int16)
            channel = np.full(size, table.channels.code("Email"), np.int16)
            recipient = np.full(size, table.recipients.code("o@example.com"), np.int32)
            at = np.full(size, float(g))
            table.create_many(at, type=codes, channel=channel, recipient=recipient, certificate_ids=group_certificates, messages=group_messages)
        recorder.notifications(size, "created")
        messages += group_messages
        certificates += group_certificates
    n = len(messages)
    for seq in [0, 1, 7, 8, PACK_ROWS - 2, PACK_ROWS - 1, PACK_ROWS, PACK_ROWS + 1, 2 * PACK_ROWS, n - 1]:
        row = table.row(seq)
        assert (row.message, row.certificate_id) == (messages[seq], certificates[seq])
    notes = recorder.tables(table, START)["notifications"]
    assert notes["message"].tolist() == messages
    assert [None if v is None or v is pd.NA or v != v else v for v in notes["certificate_id"].tolist()] == certificates


def test_overlapping_conversions_switch_arrow_pool_once_and_restore_it():
    """Large conversions in two threads at once: both allocate from the C heap, and the pool before is back after."""
    import threading

    import pyarrow as pa

    from notifsim.memory import system_allocator

    before = pa.default_memory_pool().backend_name
    a_in, b_done = threading.Event(), threading.Event()
    seen = {}

    def a():
        with system_allocator():
            a_in.set()
            b_done.wait(10)
            seen["a"] = pa.default_memory_pool().backend_name

    def b():
        a_in.wait(10)
        with system_allocator():
            seen["b"] = pa.default_memory_pool().backend_name
        b_done.set()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == {"a": "system", "b": "system"}
    assert pa.default_memory_pool().backend_name == before


def test_engine_counters_survive_release():
    """After release() the engine still answers what the workload counted (a fleet's visits and alerts)."""
    from notifsim import Policy, Scenario
    from notifsim.engine import ENGINES

    for name in ENGINES:
        sim = ENGINES[name](
            Scenario.preset("mass-expiry"), Policy.preset("certctl-asbuilt"), seed=3, horizon_s=2 * 86400.0, initial_rows=[], sample_interval=900.0
        )
        sim.run()
        counted = sim.counters()
        assert counted["visits"] > 0 and counted["alerts_created"] > 0
        sim.release()
        assert sim.counters() == counted


@given(st.lists(st.none() | st.text(max_size=12), max_size=40) | st.lists(st.text(alphabet=st.characters(max_codepoint=127), max_size=12), max_size=40))
def test_a_packed_chunk_reads_back_every_text(texts):
    """Any optional strings, and the all-ASCII chunk (packed with one encode): each reads back as it was written."""
    packed = PackedText(texts)
    assert [packed[i] for i in range(len(packed))] == texts
