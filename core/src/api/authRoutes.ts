/** Routes of API v1: Sign-in, sessions, personal API tokens and organization users. Merged into apiRoutes. */
export const authRoutes = {} as const;
