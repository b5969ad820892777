#!/usr/bin/python3
"""Write hostile data.pkl files of about 1 MB for timing the strict unpickler.

    python3 bench/fuzz/make-pickle-worst-cases.py OUT_DIR
    for f in OUT_DIR/*.pkl; do build-fuzz/bin/mer-fuzz-state_dict_pickle -rss_limit_mb=2048 "$f"; done

Each file repeats one cheap opcode pattern to the size given, aiming at what
would make a pickle machine slow or large: marks and stacks, the memo, deep
nesting, cycles, and opcodes that copy a memoized value (a dict's pairs, a
storage key, a tensor's sizes, a state-dict key) once per use. Every one must
be refused or read in well under a second, in bounded memory.
"""
import os
import struct
import sys

SIZE = 1 << 20
P = b'\x80\x02'


def u(s):  # BINUNICODE
    b = s.encode() if isinstance(s, str) else s
    return b'X' + struct.pack('<I', len(b)) + b


def rep(pattern, budget):
    return pattern * max(1, budget // len(pattern))


GLOBAL_ODICT = b'ccollections\nOrderedDict\n'
GLOBAL_REBUILD = b'ctorch._utils\n_rebuild_tensor_v2\n'


def cases():
    # MARK, EMPTY_LIST, APPENDS: one list of many lists, then many marks left open.
    yield 'mark-list-appends', P + b']' + rep(b'(]e', SIZE) + b'.'
    yield 'marks-open', P + b']' + rep(b'(', SIZE) + b'.'
    yield 'marks-pop', P + rep(b'(', SIZE // 2) + rep(b'1', SIZE // 2) + b'}.'
    yield 'mark-many-lists', P + b']' + b'(' + rep(b']', SIZE) + b'e.'
    # Deep nesting: half a million lists, each appended into the one below.
    n = SIZE // 2
    yield 'nested-lists', P + b']' * n + b'a' * (n - 1) + b'.'
    yield 'nested-tuples', P + b')' + rep(b'\x85', SIZE) + b'.'
    # A list that holds itself, over and over (a reference cycle).
    yield 'self-cycle', P + b']' + rep(b'2a', SIZE) + b'.'
    # The memo: many entries, many reads, sparse indices.
    yield 'memoize', P + b']' + rep(b'\x94', SIZE) + b'.'
    yield 'memo-sparse', P + b']' + b''.join(b'r' + struct.pack('<I', i * 97 % 9_999_991) for i in range(SIZE // 5)) + b'.'
    yield 'memo-get', P + b']q\x00(' + rep(b'h\x00', SIZE) + b'e.'
    yield 'dup', P + b']' + rep(b'2', SIZE) + b'.'
    # OrderedDict(pairs) again and again over one memoized list of pairs.
    pairs = b']q\x01(' + rep(b'K\x00K\x00\x86', SIZE // 4) + b'e'
    calls = rep(b'h\x02h\x03R0', SIZE // 2)
    yield 'ordereddict-copies', P + GLOBAL_ODICT + b'q\x02' + pairs + b'\x85q\x03' + calls + b'}.'
    # A storage key of half a megabyte, memoized, then read as a storage again and again.
    key = u('k' * (SIZE // 2))
    pid = b'(X\x07\x00\x00\x00storagectorch\nFloatStorage\n' + key + u('cpu') + b'K\x01tq\x04'
    yield 'storage-key-copies', P + pid + b']' + rep(b'h\x04Qa', SIZE // 2) + b'.'
    # Tensors of 64 dimensions from one memoized argument tuple, kept in a list.
    dims = b'(' + b'K\x01' * 64 + b't'
    args = b'(h\x04QK\x00' + dims + dims + b'\x89tq\x05'
    yield 'tensor-copies', (P + GLOBAL_REBUILD + b'q\x06' + pid.replace(key, u('0')) + args + b']' +
                            rep(b'h\x06h\x05Ra', SIZE) + b'.')
    # A state dict whose one memoized key of half a megabyte names every tensor
    # (the stack is emptied first, so that the pickle ends with the dict alone).
    big = u('w' * (SIZE // 2)) + b'q\x070'
    prelude = (GLOBAL_REBUILD + b'q\x060' + pid.replace(key, u('0')) + b'0' + args + b'0' + b'h\x06h\x05Rq\x080')
    yield 'same-key-copies', P + prelude + big + b'}(' + rep(b'h\x07h\x08', SIZE // 2) + b'u.'

def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in cases():
        with open(os.path.join(out, name + '.pkl'), 'wb') as f:
            f.write(data)
        print('%s.pkl: %d bytes' % (name, len(data)))


if __name__ == '__main__':
    main()
