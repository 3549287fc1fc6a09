
½
spiffe://example.org¤{"keys":[{"kty":"EC","use":"jwt-svid","crv":"P-256","kid":"ÿ","x":"3OH_MCrf6Gmhc2yjmhXn7tGKltlIXAkRRToxjf6-V9k","y":"hIIT7eQg39JInAUw9k6nIp5AG23lAfcdFpMfS5X-6Z0"}]}