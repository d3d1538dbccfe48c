/** Routes of API v1: The jobs view and the stats overview. Merged into apiRoutes. */
export const runQueryRoutes = {} as const;
