/** Routes of API v1: Enrollment tokens and agent administration (show, rename, relabel, revoke). Merged into apiRoutes. */
export const agentAdminRoutes = {} as const;
