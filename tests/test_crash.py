"""Crash and concurrency trials of the index folder (``rag/store.py``, ``rag/build.py``).

An index folder publishes a version by replacing ``CURRENT`` atomically, under a lock
file for writers. These trials abuse that:

- ``rag ingest``, ``rag remove`` and an upload through ``ui.service.Service`` run in a
  child process that gets SIGKILL after a random delay (one in each equal slice of 1.25
  times the measured run, so the kills cover all of it however long this one takes);
  afterwards the index must load and answer a fixed set of questions exactly as before
  the operation or exactly as after it (answer text and retrieved chunk ids, against
  in-process reference runs), the dead writer must hold no lock, and finishing the
  operation must work over whatever the kill left;
- a child that kills itself at each step of publishing (``tests/crash_child.py``), since a
  random kill seldom lands in the few milliseconds between ``rename`` and the clean-up;
- two writers at once (the second waits on the lock; both changes are kept);
- readers asking in a loop while ingests publish new versions.

``RAG_CRASH_TRIALS`` (default 3) sets the kills per operation and ``RAG_CRASH_SEED`` the
delays; both are read when this module is imported (the fixtures clear ``RAG_*``).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from pathlib import Path

import pytest

try:
    from tests.crash_child import env, leftovers, live, lock_is_free, reap, stage_at_kill, versions, waiting_for_flock
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from crash_child import (  # type: ignore[no-redef]
        env,
        leftovers,
        live,
        lock_is_free,
        reap,
        stage_at_kill,
        versions,
        waiting_for_flock,
    )

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "crash_child.py"
_TRIALS, _SEED = os.environ.get("RAG_CRASH_TRIALS") or "3", os.environ.get("RAG_CRASH_SEED") or ""
if not _TRIALS.isdigit() or int(_TRIALS) < 1 or not (_SEED.isdigit() or _SEED == ""):
    raise ValueError(
        f"RAG_CRASH_TRIALS must be a whole number >= 1 and RAG_CRASH_SEED one >= 0, got {_TRIALS!r}, {_SEED!r}"
    )
TRIALS, SEED = int(_TRIALS), int(_SEED or random.randrange(1 << 30))

# A small corpus of several genres, the file the operations add, and one for a second writer.
DOCS = {
    "统计公报.txt": "临江市2025年国民经济和社会发展统计公报\n\n一、综合\n\n全年全市地区生产总值2345.6亿元，"
    "比上年增长5.2%。年末常住人口318万人。\n\n二、农业\n\n全年粮食总产量86.4万吨。新建高标准农田12万亩。\n",
    "年报.md": "# 星河科技股份有限公司2025年年度报告\n\n## 经营情况\n\n报告期内公司实现营业收入18.6亿元，"
    "同比增长12%；净利润2.1亿元。\n\n## 研发投入\n\n全年研发投入3.2亿元，占营业收入的17.2%。新增发明专利46项。\n",
    "条例.txt": "青山区物业管理条例\n\n第一条 为规范物业管理活动，制定本条例。\n\n第二条 业主大会应当每年至少"
    "召开一次会议。\n\n第三条 物业服务企业应当在收费前三十日公示收费标准。\n",
    "百科.txt": "白鹭湖\n\n白鹭湖位于南岭山脉北麓，是一座天然淡水湖，水域面积约42平方公里。\n\n湖区记录到鸟类"
    "183种，其中国家一级保护鸟类9种。白鹭湖于1998年被列为省级自然保护区。\n",
    "新闻.txt": "东港市举办首届海洋文化节\n\n10月12日，东港市首届海洋文化节在滨海广场开幕，为期五天，吸引游客"
    "约15万人次。\n\n文化节期间共举办非遗展演36场，签约文旅项目11个。\n",
}
ADDED, SECOND = "说明书.txt", "菜谱.txt"
EXTRA = {
    ADDED: "云帆X3扫地机器人使用说明书\n\n一、产品参数\n\n电池容量为5200毫安时，满电可连续清扫180分钟。\n\n"
    "二、保养\n\n滤网建议每两周清洗一次，边刷每六个月更换一次。\n\n三、故障\n\n指示灯红色闪烁表示主刷被缠绕。\n",
    SECOND: "家常红烧肉做法\n\n主料为五花肉500克，配料有冰糖30克。\n\n五花肉切块焯水后，小火慢炖50分钟即可出锅。\n",
}
QUESTIONS = [
    "临江市2025年地区生产总值是多少？",
    "星河科技2025年研发投入多少？",
    "业主大会每年至少召开几次会议？",
    "白鹭湖记录到多少种鸟类？",
    "东港市海洋文化节吸引了多少游客？",
    "云帆X3扫地机器人的电池容量是多少？",
    "滤网多久清洗一次？",
    "指示灯红色闪烁表示什么？",
    "红烧肉要炖多少分钟？",
]


def _settings():
    from rag.settings import Settings

    return Settings()  # the defaults, whatever the shell says (the children get no RAG_* either)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def snapshot(index: Path) -> list[tuple[str, list[str]]]:
    """What the index says: for each question, the answer text and the retrieved chunk ids."""
    from rag.assistant import Assistant

    a = Assistant.load(index, _settings())
    return [(a.ask(q).text, [p.id for p in a.retrieve(q, k=5)]) for q in QUESTIONS]


def which(snap: list, refs: dict[str, list]) -> str:
    """The name of the reference ``snap`` equals, or an AssertionError listing the answers that match none."""
    for name, ref in refs.items():
        if snap == ref:
            return name
    diff = [
        f"{q}: got {s}; " + "; ".join(f"{n}: {ref[i]}" for n, ref in refs.items())
        for i, (q, s) in enumerate(zip(QUESTIONS, snap, strict=True))
        if all(s != ref[i] for ref in refs.values())
    ]
    raise AssertionError(f"the index answers as none of {list(refs)} (a mix?):\n" + "\n".join(diff))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Template indexes and the reference snapshots of every operation, built in-process."""
    from rag.build import build_index
    from ui.service import Service

    top = tmp_path_factory.mktemp("crash")
    (top / "docs").mkdir()
    for name, text in DOCS.items():
        (top / "docs" / name).write_text(text, encoding="utf-8")
    for name, text in EXTRA.items():
        (top / name).write_text(text, encoding="utf-8")
    w = {"added": top / ADDED, "second": top / SECOND, "base": top / "base"}
    build_index([top / "docs"], w["base"], _settings())
    w["with_added"] = _copy(w["base"], top / "with_added")
    build_index([w["added"]], w["with_added"], _settings())
    removed = _copy(w["with_added"], top / "removed")
    build_index([], removed, _settings(), remove=[ADDED])
    uploaded = _copy(w["base"], top / "uploaded")
    assert [r.status for r in Service(uploaded, _settings()).upload([(w["added"], ADDED)])] == ["added"]
    snaps = {"base": w["base"], "added": w["with_added"], "removed": removed, "uploaded": uploaded}
    w["snap"] = {name: snapshot(index) for name, index in snaps.items()}
    # the trials can only fail if the operations change what the index says
    assert (
        w["snap"]["base"] != w["snap"]["added"] != w["snap"]["removed"] and w["snap"]["uploaded"] != w["snap"]["base"]
    )
    return w


# ---------------------------------------------------------------------------- kills at random moments
OPS = {  # operation: (template it starts from, reference before, reference after)
    "ingest": ("base", "base", "added"),
    "remove": ("with_added", "added", "removed"),
    "upload": ("base", "base", "uploaded"),
}


def start(op: str, index: Path, file: Path, log: Path) -> subprocess.Popen:
    """The operation as a child process in its own process group, its output in ``log.out`` / ``log.err``."""
    cmd = {
        "ingest": [sys.executable, "-m", "rag.cli", "ingest", str(file), "--index", str(index)],
        "remove": [sys.executable, "-m", "rag.cli", "remove", file.name, "--index", str(index)],
        "upload": [sys.executable, str(CHILD), "upload", str(index), str(file), file.name],
    }[op]
    with open(f"{log}.out", "w") as out, open(f"{log}.err", "w") as err:  # the child keeps its own copies
        return subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=out, stderr=err, start_new_session=True)


def finish(op: str, index: Path, file: Path) -> None:
    """The same operation run to its end in-process, over whatever a kill left."""
    from rag.build import build_index
    from ui.service import Service

    if op == "ingest":
        build_index([file], index, _settings())
    elif op == "remove":
        build_index([], index, _settings(), remove=[file.name])
    else:
        results = Service(index, _settings()).upload([(file, file.name)])
        assert [r.status for r in results] in (["added"], ["unchanged"]), results


@pytest.mark.parametrize("op", sorted(OPS))
def test_sigkill_at_random_moments_leaves_before_or_after(op, world, tmp_path):
    template, before, after = world[OPS[op][0]], OPS[op][1], OPS[op][2]
    refs = {before: world["snap"][before], after: world["snap"][after]}
    # the uncut run: measures the run, and a child must do what the in-process reference did
    index, t0 = _copy(template, tmp_path / "uncut"), time.monotonic()
    proc = start(op, index, world["added"], tmp_path / "uncut")
    assert reap(proc) is not None and proc.returncode == 0, (tmp_path / "uncut.err").read_text(encoding="utf-8")
    duration = time.monotonic() - t0
    assert which(snapshot(index), refs) == after
    rng, rows = random.Random(SEED ^ zlib.crc32(op.encode())), []
    for i in range(TRIALS):
        delay = 1.25 * duration * (i + rng.random()) / TRIALS  # past the uncut run's end too: runs vary
        index, log = _copy(template, tmp_path / f"t{i}"), tmp_path / f"t{i}"
        proc = start(op, index, world["added"], log)
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):  # the child alone, as the OOM killer or `kill -9 PID` would
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=300)
        assert proc.returncode in (0, -9), (op, delay, Path(f"{log}.err").read_text(encoding="utf-8"))
        assert lock_is_free(index), f"{op} killed at {delay:.2f}s: the dead writer still holds the lock"
        linger = reap(proc)
        assert linger is not None, f"{op} killed at {delay:.2f}s: a process of its group outlived it by 15 s"
        state = which(snapshot(index), refs)  # loads, and answers as before or as after: nothing else
        left = leftovers(index, template)
        finish(op, index, world["added"])
        assert which(snapshot(index), refs) == after, f"finishing {op} after a kill at {delay:.2f}s"
        assert not list(index.glob("tmp-*")) and len(versions(index)) <= 3, versions(index)
        ended = "finished" if proc.returncode == 0 else "killed"
        rows.append((round(delay, 2), ended, stage_at_kill(log), state, left, round(linger, 2)))
    print(f"\n{op}: seed {SEED}, uncut run {duration:.1f}s, {TRIALS} kills")
    for row in rows:
        print("  delay {}s  {}  stage {!r}  state {}  leftovers {}  group gone after {}s".format(*row))
    print("  states", dict(Counter(r[3] for r in rows)), " stages", dict(Counter(r[2] for r in rows)))


# ---------------------------------------------------------------------------- each step of publishing
DIE_AT = {  # point (see crash_child.py): (state after the kill, what it leaves behind)
    "write_records": ("base", "tmp-"),
    "rename": ("base", "v-"),
    "pointer": ("base", ".CURRENT."),
    "replace": ("added", ""),
    "rmtree": ("added", "v-0000"),
}


def test_sigkill_at_each_step_of_publishing(world, tmp_path):
    from rag.build import build_index

    refs = {"base": world["snap"]["base"], "added": world["snap"]["added"]}
    procs = {}
    for point in DIE_AT:  # the children run at once, each on its own copy
        index = _copy(world["base"], tmp_path / point)
        if point == "rmtree":  # an older version for the clean-up to delete
            shutil.copytree(index / live(index), index / "v-00000000-000000-000000")
        cmd = [sys.executable, str(CHILD), "die-at", point, str(index), str(world["added"])]
        with open(tmp_path / f"{point}.out", "w") as out:
            procs[point] = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=out, stderr=out, start_new_session=True)
    for point, (expected, litter) in DIE_AT.items():
        proc, index = procs[point], tmp_path / point
        assert reap(proc) is not None and lock_is_free(index), point
        log = (tmp_path / f"{point}.out").read_text(encoding="utf-8")
        assert proc.returncode == -9, f"{point}: the child did not die there (rc {proc.returncode}):\n{log}"
        assert which(snapshot(index), refs) == expected, point
        left = leftovers(index, world["base"])
        if point == "rmtree":  # the older version, half deleted
            left = [n for n in versions(index) if not (index / n / "manifest.json").exists()]
        assert any(n.startswith(litter) for n in left) if litter else not left, (point, left)
        finish("ingest", index, world["added"])
        assert which(snapshot(index), refs) == "added" and not list(index.glob("tmp-*")), point
        build_index([], index, _settings(), remove=[ADDED])  # the next publish clears what is left
        assert len(versions(index)) == 2, (point, versions(index))  # the live one and the one before it


def test_pointer_file_left_by_a_kill_is_cleaned_by_the_next_publish(world, tmp_path):
    from rag.build import build_index

    index = _copy(world["base"], tmp_path / "idx")
    (index / ".CURRENT.abc123").write_text("v-never-published", encoding="utf-8")  # as the 'pointer' kill leaves it
    build_index([world["added"]], index, _settings())
    assert not list(index.glob(".CURRENT.*"))


# ---------------------------------------------------------------------------- two writers
def test_a_second_writer_waits_for_the_lock(world, tmp_path):
    from rag.store import write_lock

    index = _copy(world["base"], tmp_path / "idx")
    before = live(index)
    with write_lock(index):  # another writer holds the index
        proc = start("ingest", index, world["added"], tmp_path / "child")
        deadline = time.monotonic() + 120
        while not waiting_for_flock(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting_for_flock(proc.pid), "the second writer did not wait on the lock"
        assert proc.poll() is None and live(index) == before
    assert reap(proc) is not None and proc.returncode == 0
    assert which(snapshot(index), {"added": world["snap"]["added"]}) == "added"


def test_two_writers_at_once_keep_both_changes(world, tmp_path):
    from rag.build import build_index

    refs = {}
    for first, then in ((world["added"], world["second"]), (world["second"], world["added"])):
        ref = _copy(world["base"], tmp_path / f"ref-{first.stem}")
        build_index([first], ref, _settings())
        build_index([then], ref, _settings())
        refs[f"{first.name} first"] = snapshot(ref)
    index = _copy(world["base"], tmp_path / "idx")
    procs = [start("ingest", index, world[f], tmp_path / f) for f in ("added", "second")]
    waited = False
    while any(p.poll() is None for p in procs):
        waited = waited or any(waiting_for_flock(p.pid) for p in procs)
        time.sleep(0.05)
    outs = [(tmp_path / f"{f}.out").read_text(encoding="utf-8") for f in ("added", "second")]
    assert [p.returncode for p in procs] == [0, 0], outs
    counts = sorted(int(m.group(1)) for o in outs if (m := re.search(r"documents: (\d+)", o)))
    assert counts == [len(DOCS) + 1, len(DOCS) + 2]  # one ran after the other and kept the first's change
    print(f"\ntwo writers: one waited on the lock: {waited}; the index is as {which(snapshot(index), refs)}")


# ---------------------------------------------------------------------------- readers during ingests
def test_readers_keep_answering_while_versions_are_published(world, tmp_path):
    from rag.build import build_index
    from ui.service import Service

    index = _copy(world["base"], tmp_path / "idx")
    svc = Service(index, _settings())
    refs = {n: world["snap"][n] for n in ("base", "added", "removed")}
    seen: list[tuple[str, int, tuple[str, list[str]]]] = []  # (version folder, question, what it said)
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            for i, q in enumerate(QUESTIONS):
                try:
                    a = svc.variant()  # what Service.ask answers with
                    seen.append((a.data.folder.name, i, (a.ask(q).text, [p.id for p in a.retrieve(q, k=5)])))
                except BaseException as e:
                    errors.append(e)
                    return

    def wait_for(folder: str, more: int) -> None:
        n, deadline = len(seen), time.monotonic() + 60
        while not errors and (len(seen) < n + more or seen[-1][0] != folder) and time.monotonic() < deadline:
            time.sleep(0.05)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        build_index([world["added"]], index, _settings())  # publishes a version, as `rag ingest` elsewhere would
        wait_for(live(index), len(QUESTIONS))
        build_index([], index, _settings(), remove=[ADDED])  # and another
        last = live(index)
        wait_for(last, 2 * len(QUESTIONS))
    finally:
        stop.set()
        reader.join(timeout=60)
    assert not errors, repr(errors[0])
    folders = [f for k, (f, _, _) in enumerate(seen) if k == 0 or seen[k - 1][0] != f]
    assert len(folders) == 3 and folders[-1] == last, folders  # each version in turn, never back
    for folder, name in zip(folders, refs, strict=True):  # each version answered as its reference, whole
        assert all(refs[name][i] == got for f, i, got in seen if f == folder), (folder, name)
    assert svc.assistant().data.folder.name == last
    print(f"\nreaders: {len(seen)} questions answered over versions {folders}")


# ---------------------------------------------------------------------------- races found by reading the code
def test_service_notices_a_version_published_while_it_reloads(world, tmp_path, monkeypatch):
    from rag.assistant import Assistant
    from rag.build import build_index
    from ui.service import Service

    index = _copy(world["with_added"], tmp_path / "idx")
    real_load, published = Assistant.load, []

    def load_then_publish(index_dir, settings=None):
        a = real_load(index_dir, settings)
        if not published:  # `rag remove` in another process publishes right now
            published.append(build_index([], index, _settings(), remove=[ADDED]))
        return a

    monkeypatch.setattr(Assistant, "load", staticmethod(load_then_publish))
    svc = Service(index, _settings())
    svc.assistant()
    assert published and svc.assistant().data.folder.name == live(index)


def test_load_survives_two_publishes_while_it_reads(world, tmp_path, monkeypatch):
    import rag.assistant
    from rag.build import build_index

    index = _copy(world["with_added"], tmp_path / "idx")
    name = "open_records" if hasattr(rag.assistant, "open_records") else "read_records"
    real_read, calls = getattr(rag.assistant, name), []

    def read_after_two_publishes(folder, *args):
        if not calls:  # two updates land between this load reading CURRENT and reading the records
            build_index([], index, _settings(), remove=[ADDED])
            build_index([world["added"]], index, _settings())
        calls.append(folder)
        return real_read(folder, *args)

    monkeypatch.setattr(rag.assistant, name, read_after_two_publishes)
    assert rag.assistant.Assistant.load(index, _settings()).data.folder.name == live(index)


def test_an_assistant_loaded_earlier_keeps_working_after_two_publishes(world, tmp_path):
    """A program holding an ``Assistant`` (the README's ``a = Assistant.load("index")``) while
    two ingests publish: the version it holds is deleted from disk by the second one."""
    from rag.assistant import Assistant
    from rag.build import build_index

    index = _copy(world["with_added"], tmp_path / "idx")
    a = Assistant.load(index, _settings())
    build_index([], index, _settings(), remove=[ADDED])
    build_index([world["added"]], index, _settings())
    assert not (index / a.data.folder.name).exists()  # the held version is gone from disk
    assert [(a.ask(q).text, [p.id for p in a.retrieve(q, k=5)]) for q in QUESTIONS] == world["snap"]["added"]
    now = Assistant.load(index, _settings())
    assert a.source_text(ADDED) == now.source_text(ADDED)  # what the UI's 「查看原文」 shows
    assert len(a.passages()) == len(now.passages())
