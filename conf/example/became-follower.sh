#!/bin/sh
# Example hook of conf/raftlb.ini: raftlb runs it when this node stops being leader.
echo "raftlb: $(date -u +%FT%TZ) became follower" >&2
