#!/bin/sh
# Example hook of conf/raftlb.ini: raftlb runs it when this node becomes the leader.
echo "raftlb: $(date -u +%FT%TZ) became leader" >&2
