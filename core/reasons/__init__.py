"""Complaint reasons: what the negative tweets are about.

- taxonomy: the reasons (name, description, examples), the airline default or the operator's JSON file, validated;
- text: the tweet cleaning the encoder and the cluster names see (mentions, links, agents' signatures out);
- zeroshot: a reason per tweet by cosine to each reason's prototype (mean embedding of its description + examples);
- learned: a head trained on the analysts' reason tags, and the measured rule that switches to it;
- tagger: the two above behind one object, built from an encoder, the taxonomy and the tags;
- clusters: an alert window's negative tweets clustered, named by c-TF-IDF against the previous windows, what is
  new, representative tweets, and the alert's one-line summary.

Embeddings come from an encoder object (`.name`, `.dim`, `.embed(texts) -> float32 (n, dim)`, rows L2-normalised):
core.embedding's in the product, a small stand-in in the tests.
"""
