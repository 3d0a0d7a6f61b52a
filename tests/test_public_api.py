"""The public surface of ``rag`` is what ``__all__`` lists, and each name is importable."""

import rag

EXPECTED = {"Answer", "Assistant", "Chunk", "Citation", "Document", "IndexFormatError", "Passage", "Settings"}


def test_all_lists_the_public_names_and_nothing_else():
    assert set(rag.__all__) == EXPECTED
    for name in rag.__all__:
        assert getattr(rag, name) is not None


def test_public_names_are_the_records_and_the_assistant():
    from rag.assistant import Assistant
    from rag.records import Answer

    assert rag.Assistant is Assistant and rag.Answer is Answer
    assert "short_answer" in {f for f in Answer.__dataclass_fields__}


def test_nothing_private_leaks_from_star_import():
    namespace: dict[str, object] = {}
    exec("from rag import *", namespace)
    assert {k for k in namespace if not k.startswith("__")} == EXPECTED
