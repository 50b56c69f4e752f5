# src/raft storage, codec and their tests (included by Makefile.am).
