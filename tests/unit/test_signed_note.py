"""Signed notes and checkpoints, byte for byte as Go's golang.org/x/mod/sumdb/note and C2SP tlog-checkpoint."""
from __future__ import annotations

import pytest

from events.checkpoint import Checkpoint
from events.signed_note import NoteError, NoteSigner, NoteVerifier

# The worked example of golang.org/x/mod/sumdb/note's package documentation (note.go, BSD licence).
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = GO_TEXT + ("\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdn"
                     "gotpRZb6KE6RyyBwJnAM=\n")


def test_keys_and_signatures_match_the_go_note_package():
    signer = NoteSigner.parse(GO_SIGNER)
    assert signer.encoded() == GO_SIGNER
    assert signer.verifier().encoded() == GO_VERIFIER
    assert signer.sign(GO_TEXT) == GO_NOTE  # Ed25519 is deterministic
    assert NoteVerifier.parse(GO_VERIFIER).verify(GO_NOTE) == GO_TEXT


def test_a_changed_text_or_another_key_does_not_verify():
    verifier = NoteVerifier.parse(GO_VERIFIER)
    with pytest.raises(NoteError, match="invalid signature"):
        verifier.verify(GO_NOTE.replace("problem,", "problem;"))
    other = NoteSigner.generate("PeterNeumann")
    with pytest.raises(NoteError, match="no signature"):
        verifier.verify(other.sign(GO_TEXT))
    with pytest.raises(NoteError, match="does not match"):
        NoteVerifier.parse(GO_VERIFIER.replace("c74f20a3", "c74f20a4"))


def test_a_checkpoint_body_is_three_lines_and_reads_back():
    checkpoint = Checkpoint("example.com/log", 8, bytes(range(32)))
    assert checkpoint.body() == "example.com/log\n8\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    assert Checkpoint.parse(checkpoint.body()) == checkpoint
    with pytest.raises(ValueError):
        Checkpoint.parse("example.com/log\n08\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
