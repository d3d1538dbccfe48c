ALTER TABLE "runs" ADD COLUMN "reason" text;--> statement-breakpoint
-- Before run ids were unique per organization, a second agent could record a run under an id
-- another agent already used. Keep every run: the later rows of a shared id get a new run id.
UPDATE "runs" SET "run_id" = gen_random_uuid() WHERE "id" IN (SELECT "id" FROM (SELECT "id", row_number() OVER (PARTITION BY "organization_id", "run_id" ORDER BY "id") AS "n" FROM "runs") AS "shared" WHERE "n" > 1);--> statement-breakpoint
CREATE UNIQUE INDEX "runs_org_run_key" ON "runs" USING btree ("organization_id","run_id");--> statement-breakpoint
CREATE INDEX "runs_agent_running_idx" ON "runs" USING btree ("agent_id","created_at") WHERE "runs"."status" = 'running';