"""Generate text with a model from Python, streaming it as it comes.

    python examples/generate.py MODEL.gguf ["prompt"]
"""

import sys

from bitnet import BitNetModel, GenerationConfig


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    prompt = sys.argv[2] if len(sys.argv) > 2 else "Once upon a time"
    with BitNetModel.from_file(sys.argv[1]) as model:
        print(prompt, end="", flush=True)
        for piece in model.generate_stream(prompt, GenerationConfig(max_new_tokens=200, temperature=0)):
            print(piece, end="", flush=True)
        print()
        m = model.last_metrics
        print(
            f"[{model.model_info.name}: {m.generated_tokens} tokens, prompt {m.throughput.prefill:.0f} tok/s,"
            f" generation {m.throughput.decode:.0f} tok/s]",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
