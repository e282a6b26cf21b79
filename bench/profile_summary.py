"""
Where the time goes: summarize py-spy's collapsed stacks (bench/delivery.py --profile).

    .venv/bin/python bench/profile_summary.py /tmp/profiles/serve-memory-1234.txt
"""

import re
import sys
from collections import Counter


def summarize(path: str, top: int = 30) -> None:
    own, inclusive, total = Counter(), Counter(), 0
    for line in open(path):
        stack, _, count = line.rstrip().rpartition(" ")
        samples = int(count)
        total += samples
        frames = [re.sub(r":\d+\)", ")", frame) for frame in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    print(f"{path}: {total} samples")
    print("self time:")
    for frame, samples in own.most_common(top):
        print(f"  {samples / total:6.1%}  {frame[:140]}")
    print("inclusive time:")
    for frame, samples in inclusive.most_common(top * 3)[: top * 2]:
        print(f"  {samples / total:6.1%}  {frame[:140]}")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        summarize(argument)
