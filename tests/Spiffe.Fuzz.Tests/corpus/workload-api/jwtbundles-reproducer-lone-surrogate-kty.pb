
N
spiffe://example.org6{"keys":[{"kty":"\ud800","use":"jwt-svid","kid":"k"}]}