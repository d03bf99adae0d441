// Package pool is the simulated hypervisor's host memory and disk pools.
package pool
