"""pyHanko's side of the seal benchmark (server/benches/seal.rs and completion.rs, through support/pyhanko.rs): signs PDFs
in process, warm, and times only the signing, so Python's start-up and imports are not counted.

    python pyhanko_sign.py KEY CERT CA ROUNDS PDF...

For each PDF: one untimed signing (warms pyHanko's caches and checks it signs), then ROUNDS
timed ones, each `signers.sign_pdf` on an `IncrementalPdfFileWriter` over the PDF in memory into
a memory buffer (the same B-B signature, key and certificate as ours; no timestamp). Prints one
line per PDF: its name, then every round's time in milliseconds, separated by spaces.
"""

import sys
import time
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers


def sign_once(pdf: bytes, signer: signers.SimpleSigner) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    out = BytesIO()
    signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name="Sig1"), signer=signer, output=out)
    return out.getvalue()


def main() -> None:
    key, cert, ca, rounds, *pdfs = sys.argv[1:]
    signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(ca,), key_passphrase=None)
    if signer is None:
        sys.exit("pyhanko_sign: the key or certificate could not be loaded")
    for path in pdfs:
        pdf = Path(path).read_bytes()
        signed = sign_once(pdf, signer)
        if len(signed) <= len(pdf):
            sys.exit(f"pyhanko_sign: {path}: no signature was appended")
        times = []
        for _ in range(int(rounds)):
            start = time.perf_counter()
            sign_once(pdf, signer)
            times.append((time.perf_counter() - start) * 1e3)
        print(Path(path).name, *(f"{t:.3f}" for t in times), flush=True)


if __name__ == "__main__":
    main()
