import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from 'react-router';
import { createQueryClient } from './api/queryClient.js';
import { createDashboardRouter } from './dashboardRoutes.js';
import './dashboard.css';

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');
const queryClient = createQueryClient();
const router = createDashboardRouter();
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
