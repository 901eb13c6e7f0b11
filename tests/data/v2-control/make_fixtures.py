#!/usr/bin/python3
# Regenerate the v2 control-port fixtures in this folder from the v2
# samples in ../vectors/v2 (OB_TESTDATA overrides ../vectors).
# The shapes follow protocol-digest.md C.5/C.6 for tor <= 0.4.5 (the last
# tor with v2): raw bytes, CRLF line ends, descriptors dot-encoded.
import os

vectors = os.environ.get("OB_TESTDATA", os.path.join(os.path.dirname(__file__), "../vectors"))
HSDIR = "$9695DFC35FFEB861329B9F1AB04C46397020CE31~hsdir1"


def sample(name):
    with open(os.path.join(vectors, "v2", name), "rb") as f:
        text = f.read().decode("ascii")
    assert text.startswith("@type ")
    return text[text.index("\n") + 1:]


def dot_encode(text):
    out = []
    for line in text.rstrip("\n").split("\n"):
        out.append(("." + line if line.startswith(".") else line) + "\r\n")
    return "".join(out) + ".\r\n"


def write(name, data):
    with open(name, "wb") as f:
        f.write(data.encode("ascii"))


ddg = sample("hidden_service_duckduckgo")
did = "y3olqqblqw2gbh6phimfuiroechjjafa"
write("hsfetch_v2.sent", "HSFETCH 3g2upl4pq6kufc4m SERVER=%s\r\n" % HSDIR[1:41])
write("hsfetch_v2.recv",
      "250 OK\r\n"
      "650 HS_DESC REQUESTED 3g2upl4pq6kufc4m NO_AUTH %s %s\r\n" % (HSDIR, did) +
      "650 HS_DESC RECEIVED 3g2upl4pq6kufc4m NO_AUTH %s %s\r\n" % (HSDIR, did) +
      "650+HS_DESC_CONTENT 3g2upl4pq6kufc4m %s %s\r\n" % (did, HSDIR) +
      dot_encode(ddg) + "650 OK\r\n")
fb = sample("hidden_service_facebook")
write("hspost_v2.sent", "+HSPOST SERVER=%s\r\n" % HSDIR[1:41] + dot_encode(fb))
write("hspost_v2.recv",
      "250 OK\r\n"
      "650 HS_DESC UPLOADED fbcdn23dssr3jqnq UNKNOWN %s\r\n" % HSDIR)
