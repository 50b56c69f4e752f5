"""Certificates for the TLS integration tests, made at test time with the openssl
command in the harness's directory: a CA, leaves signed by it with a given
subjectAltName, and the subject of a peer certificate as a dict."""
import os
import subprocess

from harness import TestFailure


def openssl(h, *args):
    p = subprocess.run(["openssl"] + list(args), cwd=h.dir, capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise TestFailure("openssl %s: %s" % (" ".join(args), p.stderr.decode()))


def make_ca(h, name):
    openssl(h, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
            "-subj", "/CN=raftlb test %s" % name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return os.path.join(h.dir, name + ".pem")


def make_cert(h, ca, name, cn, san, org="raftlb"):
    """A leaf for `cn` with subjectAltName `san`, signed by `ca`: (pem, key)."""
    openssl(h, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/O=%s/CN=%s" % (org, cn))
    h.write(name + ".ext", "subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
            "extendedKeyUsage=serverAuth\n" % san)
    openssl(h, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey",
            ca + ".key", "-CAcreateserial", "-out", name + ".pem", "-days", "2",
            "-extfile", name + ".ext")
    return os.path.join(h.dir, name + ".pem"), os.path.join(h.dir, name + ".key")


def subject(cert):
    return {k: v for rdn in cert["subject"] for k, v in rdn}
