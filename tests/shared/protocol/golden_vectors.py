#!/usr/bin/env python3
"""Independent reference for the fixed test vectors in envelope_test.cpp and keys_test.cpp.

Not run by the build. Needs only Python 3 and the `cryptography` package (Debian:
python3-cryptography). XChaCha20-Poly1305-IETF is built from an HChaCha20 subkey plus
ChaCha20-Poly1305 (RFC 8439), exactly as libsodium does; crypto_kx session keys are
BLAKE2b-512(X25519(sk, peer_pk) || client_pk || server_pk), client rx = first half, tx = second.

Prints: the event-batch frame, the ack frame, the device/hub public keys, downlink, uplink.
"""
import struct, hashlib
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives import serialization

def rotl(v,c): return ((v<<c)&0xffffffff)|(v>>(32-c))
def qr(s,a,b,c,d):
    s[a]=(s[a]+s[b])&0xffffffff; s[d]=rotl(s[d]^s[a],16)
    s[c]=(s[c]+s[d])&0xffffffff; s[b]=rotl(s[b]^s[c],12)
    s[a]=(s[a]+s[b])&0xffffffff; s[d]=rotl(s[d]^s[a],8)
    s[c]=(s[c]+s[d])&0xffffffff; s[b]=rotl(s[b]^s[c],7)
def hchacha20(key, n16):
    s=[0x61707865,0x3320646e,0x79622d32,0x6b206574]+list(struct.unpack('<8I',key))+list(struct.unpack('<4I',n16))
    for _ in range(10):
        qr(s,0,4,8,12);qr(s,1,5,9,13);qr(s,2,6,10,14);qr(s,3,7,11,15)
        qr(s,0,5,10,15);qr(s,1,6,11,12);qr(s,2,7,8,13);qr(s,3,4,9,14)
    return struct.pack('<8I',*(s[0:4]+s[12:16]))
def xseal(key, nonce, pt, ad):
    sub=hchacha20(key, nonce[:16])
    return ChaCha20Poly1305(sub).encrypt(b'\0'*4+nonce[16:], pt, ad)

key=bytes(range(32)); nonce=bytes(range(0x40,0x58))
header=b'CJD1'+bytes([1,0])+struct.pack('>IQQ',0x01020304,5,9)
dev=b'dev-001'
print((header+nonce+xseal(key,nonce,b'hello cjd',header+dev)).hex())
# compressed-flag ack frame with empty plaintext
header2=b'CJD1'+bytes([2,0])+struct.pack('>IQQ',7,0,0xfffffffffffffffe)
print((header2+nonce+xseal(key,nonce,b'',header2+dev)).hex())

def pub(sk):
    return X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
dsk=bytes(range(32)); hsk=bytes(range(32,64))
dpk=pub(dsk); hpk=pub(hsk)
q=X25519PrivateKey.from_private_bytes(dsk).exchange(X25519PrivateKey.from_private_bytes(hsk).public_key())
h=hashlib.blake2b(q+dpk+hpk,digest_size=64).digest()
print('dpk',dpk.hex()); print('hpk',hpk.hex())
print('downlink',h[:32].hex()); print('uplink',h[32:].hex())
