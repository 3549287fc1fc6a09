#!/usr/bin/env bash
# Registration entries for the Kestrel and gRPC samples (run once, after the agent DaemonSet is up).
# 1. A node alias: every agent attested by k8s_psat in cluster "demo-cluster" with the spire-agent
#    service account gets the parent ID below, so workload entries need not name individual nodes.
# 2. One entry per workload, selected by namespace and service account (k8s workload attestor).
#    The Kestrel pair uses short IDs (backend, frontend); the gRPC pair uses IDs that spell out
#    namespace and service account, so the two pairs do not admit each other's clients.
set -euo pipefail
server=(kubectl exec -n spire spire-server-0 -c spire-server -- /opt/spire/bin/spire-server)

"${server[@]}" entry create -node \
    -spiffeID spiffe://example.org/ns/spire/sa/spire-agent \
    -selector k8s_psat:cluster:demo-cluster \
    -selector k8s_psat:agent_ns:spire \
    -selector k8s_psat:agent_sa:spire-agent

"${server[@]}" entry create \
    -parentID spiffe://example.org/ns/spire/sa/spire-agent \
    -spiffeID spiffe://example.org/backend \
    -selector k8s:ns:spiffe-samples \
    -selector k8s:sa:kestrel-service

"${server[@]}" entry create \
    -parentID spiffe://example.org/ns/spire/sa/spire-agent \
    -spiffeID spiffe://example.org/frontend \
    -selector k8s:ns:spiffe-samples \
    -selector k8s:sa:kestrel-client

"${server[@]}" entry create \
    -parentID spiffe://example.org/ns/spire/sa/spire-agent \
    -spiffeID spiffe://example.org/ns/spiffe-samples/sa/grpc-service \
    -selector k8s:ns:spiffe-samples \
    -selector k8s:sa:grpc-service

"${server[@]}" entry create \
    -parentID spiffe://example.org/ns/spire/sa/spire-agent \
    -spiffeID spiffe://example.org/ns/spiffe-samples/sa/grpc-client \
    -selector k8s:ns:spiffe-samples \
    -selector k8s:sa:grpc-client

"${server[@]}" entry show
