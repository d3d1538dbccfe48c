CREATE TYPE "public"."agent_command_type" AS ENUM('reconcile', 'run');--> statement-breakpoint
CREATE TABLE "agent_commands" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"type" "agent_command_type" NOT NULL,
	"namespace" text,
	"name" text,
	"requested_by_type" "actor_type" NOT NULL,
	"requested_by_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "pending_command_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "agent_commands" ADD CONSTRAINT "agent_commands_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_commands" ADD CONSTRAINT "agent_commands_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_commands_pending_idx" ON "agent_commands" USING btree ("agent_id","created_at") WHERE "agent_commands"."delivered_at" is null;--> statement-breakpoint
CREATE INDEX "agent_commands_created_idx" ON "agent_commands" USING btree ("created_at");