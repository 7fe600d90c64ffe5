// Package runner executes gantry pipelines: it plans which nodes an event
// runs (triggers, rules, conditions), schedules them in parallel as their
// needs finish, and runs their steps through an Executor with the step
// protocol every executor shares (outputs, env files, workflow commands,
// masking, artifacts).
package runner
