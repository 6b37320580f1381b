"""Tests of the attention code of the chapter "Attention Mechanisms and Transformers"
(chapters/en/chapter_attention-mechanisms-and-transformers/): masked softmax, the attention layers,
multi-head attention, positional encoding, the attention decoders, the Transformer and the ViT.

Names that the chapter has not saved yet are skipped with ``need(...)``.
"""
import math

import matplotlib

matplotlib.use('Agg', force=True)  # before d2l imports pyplot

import numpy as onp  # noqa: E402
import pytest  # noqa: E402

from d2l import mxnet as d2l  # noqa: E402
from mxnet import np, npx  # noqa: E402


def need(*names):
    """Skip the calling test when a chapter has not saved one of ``names`` yet."""
    missing = [n for n in names if not hasattr(d2l, n)]
    if missing:
        pytest.skip('not in d2l.mxnet yet: ' + ', '.join(missing))


@pytest.fixture(autouse=True)
def seeded_and_closed():
    npx.random.seed(0)
    onp.random.seed(0)
    yield
    d2l.plt.close('all')


def close(a, b, tol=1e-5):
    a = a.asnumpy() if hasattr(a, 'asnumpy') else onp.asarray(a)
    b = b.asnumpy() if hasattr(b, 'asnumpy') else onp.asarray(b)
    return a.shape == b.shape and onp.allclose(a, b, atol=tol)


# ---------------------------------------------------------------- masked softmax

def test_masked_softmax_without_lengths_is_softmax():
    need('masked_softmax')
    X = np.random.normal(size=(2, 3, 4))
    assert close(d2l.masked_softmax(X, None), npx.softmax(X, axis=-1))


def test_masked_softmax_one_length_per_example():
    need('masked_softmax')
    X = np.random.normal(size=(3, 2, 5))
    lens = np.array([1, 3, 5])
    W = d2l.masked_softmax(X, lens).asnumpy()
    assert onp.allclose(W.sum(axis=-1), 1, atol=1e-6)
    for b, n in enumerate([1, 3, 5]):
        assert (W[b, :, n:] == 0).all()
        expected = onp.exp(X.asnumpy()[b, :, :n])
        assert onp.allclose(W[b, :, :n], expected / expected.sum(-1, keepdims=True), atol=1e-6)


def test_masked_softmax_one_length_per_query():
    need('masked_softmax')
    X = np.random.normal(size=(2, 3, 4))
    lens = np.array([[1, 2, 3], [4, 3, 2]])
    W = d2l.masked_softmax(X, lens).asnumpy()
    for b in range(2):
        for q in range(3):
            n = int(lens[b, q])
            assert (W[b, q, n:] == 0).all() and abs(W[b, q].sum() - 1) < 1e-6
    # The same as MXNet's fused softmax with lengths
    fused = npx.softmax(X, length=lens.astype('int32'), axis=-1, use_length=True)
    assert close(W, fused)


def test_masked_softmax_accepts_float_lengths_and_large_scores():
    need('masked_softmax')
    X = np.array([[[1e4, -1e4, 5e3]]])
    W = d2l.masked_softmax(X, np.array([2.0]))
    assert onp.isfinite(W.asnumpy()).all()
    assert close(W, [[[1.0, 0.0, 0.0]]])


# ---------------------------------------------------------------- attention layers

def test_dot_product_attention_matches_formula():
    need('DotProductAttention')
    Q = np.random.normal(size=(2, 3, 8))
    K = np.random.normal(size=(2, 5, 8))
    V = np.random.normal(size=(2, 5, 4))
    lens = np.array([2, 5])
    attention = d2l.DotProductAttention()
    out = attention(Q, K, V, lens)
    assert out.shape == (2, 3, 4)
    q, k, v = Q.asnumpy(), K.asnumpy(), V.asnumpy()
    for b, n in enumerate([2, 5]):
        scores = q[b] @ k[b, :n].T / math.sqrt(8)
        w = onp.exp(scores - scores.max(-1, keepdims=True))
        w /= w.sum(-1, keepdims=True)
        assert onp.allclose(out.asnumpy()[b], w @ v[b, :n], atol=1e-5)
    assert attention.attention_weights.shape == (2, 3, 5)


def test_equal_keys_give_uniform_weights():
    need('DotProductAttention', 'AdditiveAttention')
    Q = np.random.normal(size=(1, 2, 6))
    K = np.ones((1, 4, 6))
    V = np.random.normal(size=(1, 4, 3))
    additive = d2l.AdditiveAttention(num_hiddens=8)
    additive.initialize()
    for attention in [d2l.DotProductAttention(), additive]:
        out = attention(Q, K, V)
        assert close(attention.attention_weights, onp.full((1, 2, 4), 0.25))
        assert close(out, onp.broadcast_to(V.asnumpy().mean(axis=1, keepdims=True), (1, 2, 3)))


def test_additive_attention_handles_different_dimensions():
    need('AdditiveAttention')
    attention = d2l.AdditiveAttention(num_hiddens=16)
    attention.initialize()
    Q, K, V = np.random.normal(size=(2, 3, 5)), np.random.normal(size=(2, 6, 7)), np.ones((2, 6, 2))
    out = attention(Q, K, V, np.array([2, 6]))
    assert out.shape == (2, 3, 2)
    W = attention.attention_weights.asnumpy()
    assert W.shape == (2, 3, 6) and (W[0, :, 2:] == 0).all()
    assert onp.allclose(W.sum(-1), 1, atol=1e-6)


def test_multihead_attention_shapes_and_parameters():
    need('MultiHeadAttention')
    Q, K = np.ones((2, 4, 10)), np.ones((2, 6, 7))
    counts = []
    for heads in [1, 2, 4]:
        attention = d2l.MultiHeadAttention(num_hiddens=16, num_heads=heads)
        attention.initialize()
        out = attention(Q, K, K, np.array([3, 6]))
        assert out.shape == (2, 4, 16)
        assert attention.attention_weights.shape == (2, heads, 4, 6)
        assert (attention.attention_weights.asnumpy()[0, :, :, 3:] == 0).all()
        counts.append(sum(p.data().size for p in attention.collect_params().values()))
    assert len(set(counts)) == 1


def test_multihead_split_and_merge_are_inverse():
    need('MultiHeadAttention')
    attention = d2l.MultiHeadAttention(num_hiddens=12, num_heads=3)
    X = np.random.normal(size=(2, 5, 12))
    split = attention.split_heads(X)
    assert split.shape == (6, 5, 4)
    # Head h of example b holds the features h*4 .. h*4+3; heads are stacked one after the other
    assert close(split[2 * 2 + 1], X[1, :, 8:12])
    assert close(attention.merge_heads(split), X)


def test_multihead_rejects_indivisible_width():
    need('MultiHeadAttention')
    with pytest.raises(ValueError):
        d2l.MultiHeadAttention(num_hiddens=10, num_heads=3)


def test_self_attention_is_permutation_equivariant():
    need('MultiHeadAttention')
    attention = d2l.MultiHeadAttention(num_hiddens=8, num_heads=2)
    attention.initialize()
    X = np.random.normal(size=(1, 5, 8))
    perm = np.array([4, 2, 0, 1, 3])
    Y = attention(X, X, X)
    Xp = X[:, perm]
    assert close(attention(Xp, Xp, Xp), Y[:, perm])


# ---------------------------------------------------------------- positional encoding

def test_positional_encoding_values():
    need('PositionalEncoding')
    d = 6
    encoding = d2l.PositionalEncoding(d)
    P = encoding(np.zeros((1, 10, d)))[0].asnumpy()
    assert onp.allclose(P[0], [0, 1, 0, 1, 0, 1])
    for i in [1, 7]:
        for j in range(d // 2):
            angle = i / 10000 ** (2 * j / d)
            assert abs(P[i, 2 * j] - math.sin(angle)) < 1e-5
            assert abs(P[i, 2 * j + 1] - math.cos(angle)) < 1e-5


def test_positional_encoding_offset_and_odd_width():
    need('PositionalEncoding')
    encoding = d2l.PositionalEncoding(7, max_len=50)
    full = encoding(np.zeros((2, 12, 7)))
    part = encoding(np.zeros((2, 4, 7)), 8)  # offset 8; Gluon blocks take no keywords
    assert close(part, full[:, 8:12])
    X = np.random.normal(size=(2, 3, 7))
    assert close(encoding(X) - X, full[:, :3])


def test_positional_encoding_shift_is_a_rotation():
    need('PositionalEncoding')
    d, delta = 8, 3
    P = d2l.PositionalEncoding(d)(np.zeros((1, 20, d)))[0].asnumpy()
    # The dot product of two encodings depends only on the distance of the positions
    G = P @ P.T
    assert onp.allclose(onp.diag(G, delta), G[0, delta], atol=1e-4)


# ---------------------------------------------------------------- decoders and models

def test_seq2seq_attention_decoder_shapes():
    need('Seq2SeqAttentionDecoder', 'Seq2SeqEncoder')
    encoder = d2l.Seq2SeqEncoder(10, 8, 16, 2)
    decoder = d2l.Seq2SeqAttentionDecoder(10, 8, 16, 2)
    src, tgt = np.zeros((4, 7), dtype='int32'), np.zeros((4, 5), dtype='int32')
    lens = np.array([7, 5, 3, 6])
    logits, state = decoder(tgt, decoder.init_state(encoder(src), lens))
    assert logits.shape == (4, 5, 10)
    W = decoder.attention_weights.asnumpy()
    assert W.shape == (4, 5, 7) and (W[2, :, 3:] == 0).all()


def test_transformer_step_by_step_equals_one_call():
    need('TransformerEncoder', 'TransformerDecoder')
    encoder = d2l.TransformerEncoder(30, 16, 32, 4, 2, 0.1)
    decoder = d2l.TransformerDecoder(30, 16, 32, 4, 2, 0.1)
    src = np.random.randint(0, 30, size=(3, 6)).astype('int32')
    tgt = np.random.randint(0, 30, size=(3, 5)).astype('int32')
    lens = np.array([6, 2, 4])
    enc_outputs = encoder(src, lens)
    assert enc_outputs.shape == (3, 6, 16)
    once, _ = decoder(tgt, decoder.init_state(enc_outputs, lens))
    assert once.shape == (3, 5, 30)
    # Causal mask in one call: query i sees keys 0..i
    self_weights = decoder.attention_weights[0][0].asnumpy()
    assert onp.allclose(onp.triu(self_weights[0, 0], k=1), 0)
    state, steps = decoder.init_state(enc_outputs, lens), []
    for t in range(5):
        logits, state = decoder(tgt[:, t:t + 1], state)
        steps.append(logits)
    assert close(np.concatenate(steps, axis=1), once, tol=1e-4)


def test_transformer_encoder_block_keeps_shape():
    need('TransformerEncoderBlock', 'PositionWiseFFN', 'AddNorm')
    block = d2l.TransformerEncoderBlock(24, 48, 4, 0.5)
    block.initialize()
    assert block(np.ones((2, 9, 24)), np.array([3, 9])).shape == (2, 9, 24)
    norm = d2l.AddNorm(0)
    norm.initialize()
    Y = norm(np.random.normal(size=(2, 3, 4)), np.random.normal(size=(2, 3, 4))).asnumpy()
    assert onp.allclose(Y.mean(-1), 0, atol=1e-5)


def test_vit_shapes():
    need('ViT', 'PatchEmbedding')
    patches = d2l.PatchEmbedding(patch_size=4, num_hiddens=8)
    patches.initialize()
    assert patches(np.zeros((2, 3, 16, 16))).shape == (2, 16, 8)
    vit = d2l.ViT(img_size=16, patch_size=4, num_hiddens=8, mlp_num_hiddens=16, num_heads=2,
                  num_blks=1, emb_dropout=0.1, blk_dropout=0.1, lr=0.01, num_classes=5)
    assert vit(np.random.normal(size=(3, 3, 16, 16))).shape == (3, 5)
    names = ' '.join(vit.collect_params().keys())
    assert 'cls_token' in names and 'pos_embedding' in names


# ---------------------------------------------------------------- heat maps

@pytest.mark.parametrize('shape, grid', [((4, 5), (1, 1)), ((3, 4, 5), (1, 3)),
                                         ((2, 3, 4, 5), (2, 3))])
def test_show_heatmaps_grid(shape, grid):
    need('show_heatmaps')
    axes = d2l.show_heatmaps(onp.random.uniform(size=shape), 'keys', 'queries')
    assert axes.shape == grid
