DROP INDEX "agents_org_machine_key";--> statement-breakpoint
ALTER TABLE "enrollment_tokens" ADD COLUMN "replaces_agent_id" uuid;--> statement-breakpoint
ALTER TABLE "enrollment_tokens" ADD CONSTRAINT "enrollment_tokens_replaces_agent_id_agents_id_fk" FOREIGN KEY ("replaces_agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agents_org_machine_idx" ON "agents" USING btree ("organization_id","machine_id");