"""A few TRL SFTTrainer steps on CPU, over a chat export, with a tiny random model.

    python examples/sft_train.py DIR [--steps 30]

DIR is the output of ``recorder export --format chat``. The tokenizer is built here
from the conversations themselves (a word-level ``tokenizers`` model, no download), with
a chat template that renders tool calls and marks the assistant turns with
``{% generation %}``, so the loss is on the researcher's actions only
(``assistant_only_loss``). The model is a two-layer Llama initialised at random from a
config. Needs ``torch``, ``transformers``, ``trl`` and ``datasets`` (not in the project's
dependencies: torch is large). Prints the loss of each step and a JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TEMPLATE = (
    "{% for message in messages %}"
    "{% if message.role == 'assistant' %}<assistant> {% generation %}"
    "{% if message.content %}{{ message.content }} {% endif %}"
    "{% for call in message.tool_calls or [] %}<call> {{ call.function.name }} "
    "{{ call.function.arguments }} </call> {% endfor %}<end> {% endgeneration %}"
    "{% elif message.role == 'tool' %}<tool> {{ message.content }} <end> "
    "{% else %}<{{ message.role }}> {{ message.content }} <end> {% endif %}"
    "{% endfor %}"
)
SPECIALS = ["[UNK]", "[PAD]", "<end>"]


def tokenizer_for(rows, max_words: int = 4000):
    """A word-level tokenizer of the most frequent words of the rendered conversations."""
    from collections import Counter

    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    def make(words):
        vocab = {w: i for i, w in enumerate([*SPECIALS, *words])}
        core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
        core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        tok = PreTrainedTokenizerFast(
            tokenizer_object=core, unk_token="[UNK]", pad_token="[PAD]", eos_token="<end>"
        )
        tok.chat_template = TEMPLATE
        return tok

    first = make([])
    counts = Counter()
    for row in rows:
        text = first.apply_chat_template(row["messages"], tokenize=False)
        counts.update(w for w in text.replace("<end>", " <end> ").split() if w not in SPECIALS)
    return make([w for w, _ in counts.most_common(max_words)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--max-length", type=int, default=512)
    args = parser.parse_args(argv)

    import datasets
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl import SFTConfig, SFTTrainer

    torch.manual_seed(0)
    rows = datasets.load_dataset(str(args.dataset), "conversations")["train"]
    rows = rows.select_columns(["messages"])  # (the tools are fixed: the template omits them)
    tokenizer = tokenizer_for(rows)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=args.max_length,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    model = LlamaForCausalLM(config)
    training = SFTConfig(
        output_dir=str(args.dataset.parent / "sft-run"), max_steps=args.steps,
        per_device_train_batch_size=2, learning_rate=3e-3, logging_steps=1,
        assistant_only_loss=True, max_length=args.max_length, report_to=[],
        save_strategy="no", use_cpu=True, seed=0,
    )  # fmt: skip
    trainer = SFTTrainer(model=model, args=training, train_dataset=rows, processing_class=tokenizer)
    trainer.train()
    losses = [round(e["loss"], 4) for e in trainer.state.log_history if "loss" in e]
    print(json.dumps({"conversations": len(rows), "vocab": len(tokenizer), "losses": losses}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
